// The Admin API's OpenAPI document: valid OpenAPI 3.1 by a maintained
// validator (@seriousme/openapi-schema-validator), served as it is written,
// and in step with the router: every route the Koa router registered is an
// operation of the document with the same single scope, and every operation
// of the document is a registered route.
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminDeps } from '../../src/admin/admin-deps.ts';
import { createAdminGate } from '../../src/admin/admin-gate.ts';
import { ADMIN_PREFIX } from '../../src/admin/admin-prefix.ts';
import { createAdminRouter, koaPath } from '../../src/admin/admin-router.ts';
import { adminRoutes } from '../../src/admin/admin-routes.ts';
import { createCallerStanding } from '../../src/admin/caller-standing.ts';
import { openApiDocument } from '../../src/admin/openapi.ts';
import { createRequestValidation } from '../../src/admin/request-validation.ts';
import { createKeys } from '../../src/keys/create-keys.ts';
import { createLog } from '../../src/log.ts';
import { adminCall } from '../helpers/admin.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

function buildRouter() {
  const keys = createKeys(server.config, server.database.db);
  const deps: AdminDeps = {
    config: server.config,
    log: createLog(server.config),
    services: server.services,
    keys,
    // Routes only keep their dependencies at construction; nothing is sent here.
    mail: {} as AdminDeps['mail'],
  };
  const routes = adminRoutes(deps);
  const { router } = createAdminRouter({
    routes,
    gate: createAdminGate({ issuer: server.issuer, publicJwks: () => keys.service.publicJwks(), standingOf: createCallerStanding({ clients: server.services.clients, accounts: server.services.accounts }) }),
    validation: createRequestValidation(openApiDocument),
    log: deps.log,
  });
  return { router, routes };
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(structuredClone(openApiDocument) as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('is what /admin/v1/openapi.json serves', async () => {
    const { status, body } = await adminCall(server, '/openapi.json');
    expect(status).toBe(200);
    expect(body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });

  it('lists exactly the routes the router registered, each with the scope its route demands', () => {
    const { router, routes } = buildRouter();
    const registered = new Set(
      router.stack.flatMap((layer) => layer.methods.filter((method) => method !== 'HEAD').map((method) => `${method} ${layer.path}`)),
    );
    const documented = new Set(
      Object.entries(openApiDocument.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${ADMIN_PREFIX}${koaPath(path)}`)),
    );
    expect([...registered].sort()).toEqual([...documented].sort());
    for (const route of routes) {
      const operation = (openApiDocument.paths as Record<string, Record<string, { security?: Record<string, string[]>[] }>>)[route.path]![route.method.toLowerCase()]!;
      expect(operation.security, `${route.method} ${route.path}`).toEqual(route.scope === null ? [] : [{ latchkey: [route.scope] }]);
    }
  });

  it('has one operationId per operation, all distinct', () => {
    const ids = Object.values(openApiDocument.paths).flatMap((item) => Object.values(item).map((operation) => (operation as { operationId: string }).operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
