// The provider holder swaps oidc-provider instances under a running Koa app:
// requests already in flight finish on the instance they started on, new ones
// get the new instance. Stand-in providers (a Koa middleware stack each) are
// enough: the holder only ever touches `middleware`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Provider } from 'oidc-provider';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createProviderHolder, type ProviderHolder } from '../../src/oidc/provider-holder.ts';

function standIn(name: string, gate?: Promise<void>): Provider {
  const middleware: Koa.Middleware[] = [
    async (ctx, next) => {
      ctx.set('x-served-by', name);
      await next();
    },
    async (ctx) => {
      if (ctx.path === '/slow') await gate;
      ctx.body = name;
    },
  ];
  return { middleware } as unknown as Provider;
}

let release!: () => void;
const gate = new Promise<void>((resolve) => (release = resolve));
let holder: ProviderHolder;
let server: http.Server;
let url: string;

beforeAll(async () => {
  holder = createProviderHolder(standIn('first', gate));
  const app = new Koa();
  app.use(holder.middleware);
  server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

it('serves new requests from the swapped-in instance while a request in flight finishes on the old one', async () => {
  const inFlight = fetch(`${url}/slow`).then((response) => response.text());
  // Let the slow request reach the first instance before the swap.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = standIn('second');
  holder.swap(second);
  expect(holder.current).toBe(second);

  expect(await (await fetch(`${url}/fast`)).text()).toBe('second');
  release();
  expect(await inFlight).toBe('first');
  expect(await (await fetch(`${url}/slow`)).text()).toBe('second');
});
