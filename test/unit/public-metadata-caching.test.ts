// Discovery and JWKS carry an ETag that follows their body: the hash is
// kept between requests (the body changes only with the keys), so the test
// is that a changed body gets a new tag at once, and the old tag then no
// longer revalidates. A Koa app that runs the finisher after a route that
// answers like oidc-provider's jwks route (ctx.oidc.route, an object body).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cachePublicMetadata } from '../../src/oidc/public-metadata-caching.ts';

let keys: { kid: string }[] = [{ kid: 'one' }];
let server: http.Server;
let url: string;

beforeAll(async () => {
  const app = new Koa();
  app.use(async (ctx, next) => {
    await next();
    cachePublicMetadata(ctx);
  });
  app.use(async (ctx) => {
    (ctx as unknown as { oidc: { route: string } }).oidc = { route: 'jwks' };
    // As oidc-provider's jwks route does: its own media type, then an object body.
    ctx.type = 'application/jwk-set+json; charset=utf-8';
    ctx.body = { keys };
  });
  server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function get(etag?: string): Promise<{ status: number; etag: string | undefined; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: etag ? { 'if-none-match': etag } : {} }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, etag: response.headers.etag, type: response.headers['content-type'], body }));
      })
      .on('error', reject);
  });
}

it('sends the body as JSON under its own media type, with a tag that changes with the body, and revalidates only the current tag', async () => {
  const first = await get();
  expect(first).toMatchObject({ status: 200, type: 'application/jwk-set+json; charset=utf-8', body: '{"keys":[{"kid":"one"}]}' });
  expect((await get()).etag).toBe(first.etag);
  expect((await get(first.etag)).status).toBe(304);

  keys = [{ kid: 'two' }, { kid: 'one' }];
  const rotated = await get(first.etag);
  expect(rotated).toMatchObject({ status: 200, body: '{"keys":[{"kid":"two"},{"kid":"one"}]}' });
  expect(rotated.etag).not.toBe(first.etag);
  expect((await get(rotated.etag)).status).toBe(304);

  keys = [{ kid: 'one' }];
  expect((await get()).etag).toBe(first.etag);
});
