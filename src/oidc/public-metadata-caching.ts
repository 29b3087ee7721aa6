// Discovery documents and the JWKS are the same for every caller and change
// only when keys rotate, so resource servers and proxies may cache them:
// Cache-Control for five minutes and an ETag for cheap revalidation (304).
// Five minutes is well inside the key activation delay (an hour by default),
// so a cache always learns a new key before tokens signed with it appear.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

export const PUBLIC_METADATA_MAX_AGE = 300;

const CACHEABLE_ROUTES = new Set(['discovery', 'jwks']);

/**
 * The last body and its ETag, per route: the documents change only with the
 * keys, so hashing is done once per change, not once per request (a string
 * comparison tells whether the body is still the same).
 */
const lastTag = new Map<string, { readonly body: string; readonly etag: string }>();

function etagOf(route: string, body: string): string {
  const last = lastTag.get(route);
  if (last?.body === body) return last.etag;
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  lastTag.set(route, { body, etag });
  return etag;
}

/**
 * Makes a finished discovery or JWKS response cacheable, and answers 304 to
 * a matching If-None-Match. Run on every finished response by the outer
 * request layer (provider.ts finishProviderResponse); anything else passes.
 */
export function cachePublicMetadata(ctx: Context): void {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return;
  const route = (ctx as unknown as KoaContextWithOIDC).oidc?.route;
  if (!route || !CACHEABLE_ROUTES.has(route) || ctx.status !== 200) return;
  let body: string;
  if (typeof ctx.body === 'string') {
    body = ctx.body;
  } else {
    // Serialised here once for the ETag, and sent as is: Koa would serialise the object again.
    // The Content-Type already set (application/jwk-set+json for the JWKS) stays: Koa sets one for a string body only when there is none.
    body = JSON.stringify(ctx.body);
    ctx.body = body;
  }
  ctx.set('Cache-Control', `public, max-age=${PUBLIC_METADATA_MAX_AGE}`);
  ctx.set('ETag', etagOf(route, body));
  // koa compares If-None-Match with the ETag just set.
  if (ctx.fresh) {
    ctx.status = 304;
    ctx.body = null;
  }
}
