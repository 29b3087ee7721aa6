// Discovery documents and the JWKS are the same for every caller and change
// only when keys rotate, so resource servers and proxies may cache them:
// Cache-Control for five minutes and an ETag for cheap revalidation (304).
// Five minutes is well inside the key activation delay (an hour by default),
// so a cache always learns a new key before tokens signed with it appear.
import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

export const PUBLIC_METADATA_MAX_AGE = 300;

const CACHEABLE_ROUTES = new Set(['discovery', 'jwks']);

export const publicMetadataCaching: Middleware = async (ctx, next) => {
  await next();
  const route = (ctx as unknown as KoaContextWithOIDC).oidc?.route;
  if (!route || !CACHEABLE_ROUTES.has(route) || ctx.status !== 200 || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return;
  const body = typeof ctx.body === 'string' ? ctx.body : JSON.stringify(ctx.body);
  ctx.set('Cache-Control', `public, max-age=${PUBLIC_METADATA_MAX_AGE}`);
  ctx.set('ETag', `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`);
  // koa compares If-None-Match with the ETag just set.
  if (ctx.fresh) {
    ctx.status = 304;
    ctx.body = null;
  }
};
