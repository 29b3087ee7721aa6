// GET /admin/v1/openapi.json: the document itself, public (no token).
import { adminRoute, reply, type AdminRoute } from '../admin-route.ts';
import { openApiDocument } from '../openapi.ts';

export function openApiRoutes(): AdminRoute[] {
  const text = JSON.stringify(openApiDocument);
  return [
    adminRoute('GET', '/openapi.json', null, async (ctx) => {
      reply(ctx, 200, text);
      ctx.type = 'application/json';
      ctx.set('Cache-Control', 'public, max-age=300');
    }),
  ];
}
