// The /resources routes of the Admin API: the APIs tokens are issued for,
// through the resource service (the same rules as `latchkey resource`). A
// delete also removes the identifier from every client, in one transaction;
// the admin resource itself cannot be deleted (409).
import type { ResourceView, UpdateResourceInput } from '../../resources/resource-service.ts';
import type { AdminDeps } from '../admin-deps.ts';
import { adminRoute, auditContext, reply, type AdminRoute } from '../admin-route.ts';
import { ADMIN_PREFIX } from '../admin-prefix.ts';
import { decodeCursor, limitOf, toPage } from '../cursor.ts';
import { ifMatchVersion, setETag } from '../etag.ts';

interface ResourceBody {
  readonly identifier?: string;
  readonly scopes?: string[];
  readonly access_token_ttl?: number;
  readonly signing_alg?: string;
}

export function resourceJson(resource: ResourceView) {
  return {
    id: resource.id,
    identifier: resource.identifier,
    scopes: resource.scopes,
    access_token_ttl: resource.accessTokenTtl,
    signing_alg: resource.signingAlg,
    created_at: resource.createdAt.toISOString(),
    updated_at: resource.updatedAt.toISOString(),
  };
}

export function resourceRoutes({ services }: AdminDeps): AdminRoute[] {
  const { resources, audit } = services;
  const details = (resource: ResourceView) => ({ scopes: resource.scopes, accessTokenTtl: resource.accessTokenTtl, signingAlg: resource.signingAlg });
  return [
    adminRoute('GET', '/resources', 'resources:read', async (ctx) => {
      const { query } = ctx.state.input;
      const limit = limitOf(query);
      const after = decodeCursor(query.cursor, 1)?.[0];
      const rows = await resources.listPage({ ...(after !== undefined && { after }), limit: limit + 1 });
      reply(ctx, 200, toPage(rows, limit, (resource) => [resource.id], resourceJson));
    }),

    adminRoute('POST', '/resources', 'resources:write', async (ctx) => {
      const body = ctx.state.input.body as ResourceBody;
      const resource = await resources.create({ identifier: body.identifier ?? '', scopes: body.scopes ?? [], accessTokenTtl: body.access_token_ttl, signingAlg: body.signing_alg });
      audit.record({ ...auditContext(ctx), type: 'resource.created', subject: resource.identifier, details: details(resource) });
      setETag(ctx, resource.version);
      ctx.set('Location', `${ADMIN_PREFIX}/resources/${encodeURIComponent(resource.id)}`);
      reply(ctx, 201, resourceJson(resource));
    }),

    adminRoute('GET', '/resources/{resource_id}', 'resources:read', async (ctx) => {
      const resource = await resources.getById(ctx.state.input.params.resource_id!);
      setETag(ctx, resource.version);
      reply(ctx, 200, resourceJson(resource));
    }),

    adminRoute('PATCH', '/resources/{resource_id}', 'resources:write', async (ctx) => {
      const body = ctx.state.input.body as ResourceBody;
      const changes: UpdateResourceInput = {
        ...(body.scopes !== undefined && { scopes: body.scopes }),
        ...(body.access_token_ttl !== undefined && { accessTokenTtl: body.access_token_ttl }),
        ...(body.signing_alg !== undefined && { signingAlg: body.signing_alg }),
      };
      const id = (await resources.getById(ctx.state.input.params.resource_id!)).id;
      const resource = await resources.update(id, changes, { version: ifMatchVersion(ctx) });
      audit.record({ ...auditContext(ctx), type: 'resource.updated', subject: resource.identifier, details: details(resource) });
      setETag(ctx, resource.version);
      reply(ctx, 200, resourceJson(resource));
    }),

    adminRoute('DELETE', '/resources/{resource_id}', 'resources:write', async (ctx) => {
      const id = (await resources.getById(ctx.state.input.params.resource_id!)).id;
      const resource = await resources.delete(id, { version: ifMatchVersion(ctx) });
      audit.record({ ...auditContext(ctx), type: 'resource.deleted', subject: resource.identifier });
      reply(ctx, 204);
    }),
  ];
}
