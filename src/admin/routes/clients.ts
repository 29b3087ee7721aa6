// The /clients routes of the Admin API: OAuth clients in RFC 7591 metadata
// names, through the client service (the same rules as `latchkey client`),
// each change an audit event whose actor is the token's subject.
import { clientJson, toRegistration, toUpdate, type ClientBody } from '../../clients/client-metadata-json.ts';
import type { AdminDeps } from '../admin-deps.ts';
import { adminRoute, auditContext, reply, type AdminRoute } from '../admin-route.ts';
import { ADMIN_PREFIX } from '../admin-prefix.ts';
import { decodeCursor, limitOf, toPage } from '../cursor.ts';
import { ifMatchVersion, setETag } from '../etag.ts';

export function clientRoutes({ services }: AdminDeps): AdminRoute[] {
  const { clients, audit } = services;
  return [
    adminRoute('GET', '/clients', 'clients:read', async (ctx) => {
      const { query } = ctx.state.input;
      const limit = limitOf(query);
      const after = decodeCursor(query.cursor, 1)?.[0];
      const rows = await clients.listPage({ ...(after !== undefined && { after }), limit: limit + 1 });
      reply(ctx, 200, toPage(rows, limit, (client) => [client.clientId], clientJson));
    }),

    adminRoute('POST', '/clients', 'clients:write', async (ctx) => {
      const { client, clientSecret } = await clients.create(toRegistration(ctx.state.input.body as ClientBody));
      audit.record({ ...auditContext(ctx), type: 'client.created', subject: client.clientId, clientId: client.clientId, details: { name: client.name, public: client.public, grantTypes: client.grantTypes } });
      setETag(ctx, client.version);
      ctx.set('Location', `${ADMIN_PREFIX}/clients/${encodeURIComponent(client.clientId)}`);
      reply(ctx, 201, { ...clientJson(client), ...(clientSecret !== undefined && { client_secret: clientSecret }) });
    }),

    adminRoute('GET', '/clients/{client_id}', 'clients:read', async (ctx) => {
      const client = await clients.get(ctx.state.input.params.client_id!);
      setETag(ctx, client.version);
      reply(ctx, 200, clientJson(client));
    }),

    adminRoute('PATCH', '/clients/{client_id}', 'clients:write', async (ctx) => {
      const changes = toUpdate(ctx.state.input.body as ClientBody);
      const { client, clientSecret } = await clients.update(ctx.state.input.params.client_id!, changes, { version: ifMatchVersion(ctx) });
      audit.record({ ...auditContext(ctx), type: 'client.updated', subject: client.clientId, clientId: client.clientId, details: { fields: Object.keys(ctx.state.input.body as object) } });
      setETag(ctx, client.version);
      reply(ctx, 200, { ...clientJson(client), ...(clientSecret !== undefined && { client_secret: clientSecret }) });
    }),

    adminRoute('DELETE', '/clients/{client_id}', 'clients:write', async (ctx) => {
      const client = await clients.delete(ctx.state.input.params.client_id!, { version: ifMatchVersion(ctx) });
      audit.record({ ...auditContext(ctx), type: 'client.deleted', subject: client.clientId, clientId: client.clientId, details: { name: client.name } });
      reply(ctx, 204);
    }),

    adminRoute('POST', '/clients/{client_id}/secret', 'clients:write', async (ctx) => {
      const { client, clientSecret } = await clients.rotateSecret(ctx.state.input.params.client_id!);
      audit.record({ ...auditContext(ctx), type: 'client.secret_rotated', subject: client.clientId, clientId: client.clientId });
      setETag(ctx, client.version);
      reply(ctx, 200, { client_id: client.clientId, client_secret: clientSecret });
    }),
  ];
}
