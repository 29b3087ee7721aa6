// The Admin API's foundation over HTTP: the admin resource ensured at boot
// (idempotent), the public OpenAPI document, the bearer gate (401/403 with
// RFC 6750 challenges) and the one problem shape for unknown paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPES, adminResourceIdentifier } from '../../src/resources/admin-resource.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('the admin resource', () => {
  it('exists after start with the nine scopes, once, and a second start on the same database changes nothing', async () => {
    const first = await server.services.resources.findByIdentifier(adminResourceIdentifier(server.issuer));
    expect(first?.scopes).toEqual([...ADMIN_SCOPES]);
    const again = await server.services.resources.ensure({ identifier: adminResourceIdentifier(server.issuer), scopes: ADMIN_SCOPES });
    expect(again).toEqual(first);
    const all = await server.services.resources.list();
    expect(all.filter((resource) => resource.identifier === adminResourceIdentifier(server.issuer))).toHaveLength(1);
  });

  it('gets back a scope it lost (an upgrade adding scopes)', async () => {
    const identifier = adminResourceIdentifier(server.issuer);
    await server.services.resources.update(identifier, { scopes: ['clients:read'] });
    const ensured = await server.services.resources.ensure({ identifier, scopes: ADMIN_SCOPES });
    expect([...ensured.scopes].sort()).toEqual([...ADMIN_SCOPES].sort());
  });
});

describe('/admin/v1', () => {
  it('serves its OpenAPI document without a token', async () => {
    const { status, body, headers } = await adminCall(server, '/openapi.json');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.openapi).toBe('3.1.0');
  });

  it('answers a request without a token with 401 invalid_token and a bare Bearer challenge', async () => {
    const { status, body, headers } = await adminCall(server, '/clients');
    expect(status).toBe(401);
    expect(headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(body).toMatchObject({ type: 'urn:latchkey:problem:invalid_token', status: 401, code: 'invalid_token' });
    expect(headers.get('www-authenticate')).toBe('Bearer realm="latchkey-admin"');
  });

  it('lets a token with the scope through and refuses one without it with 403 insufficient_scope', async () => {
    const reader = await adminToken(server, ['clients:read']);
    expect((await adminCall(server, '/clients', { token: reader })).status).toBe(200);
    const { status, body, headers } = await adminCall(server, '/resources', { token: reader });
    expect(status).toBe(403);
    expect(body.code).toBe('insufficient_scope');
    expect(headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey-admin", error="insufficient_scope", .*scope="resources:read"$/);
  });

  it('answers an unknown path with a 404 problem and a known one with another method with 405', async () => {
    expect((await adminCall(server, '/nothing')).body.code).toBe('not_found');
    const wrong = await adminCall(server, '/openapi.json', { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.body.code).toBe('method_not_allowed');
  });
});
