// Holds the oidc-provider instance the app serves with, mounted the way
// oidc-provider's docs mount it in a Koa app (koa-mount), and lets a new one
// (built with a new key set: oidc-provider reads `jwks` only at construction)
// replace it while requests keep flowing. Each request runs wholly on the
// instance current when it arrived; later requests get the new one. Nothing
// is lost in the swap: sessions, grants and every other artifact live in the
// database, and all instances share the same cookie keys.
//
// Mounted at '/', the provider runs on the host app's own context: its
// signed cookies use the host's keys (the same, app.ts), and ctx.state
// (request id, request log) is the host's.
import type Koa from 'koa';
import mount from 'koa-mount';
import type { Provider } from 'oidc-provider';

export interface ProviderHolder {
  /** The instance new requests are served by. */
  readonly current: Provider;
  /** Koa middleware serving each request with the instance current when it arrived. */
  readonly middleware: Koa.Middleware;
  /** Serves every request from now on with `next`. */
  swap(next: Provider): void;
}

export function createProviderHolder(initial: Provider): ProviderHolder {
  const mounted = (provider: Provider) => ({ provider, run: mount(provider) });
  let serving = mounted(initial);

  return {
    get current() {
      return serving.provider;
    },
    middleware: (ctx, next) => {
      // Read once: a swap during this request does not move it to the new instance halfway.
      const { run } = serving;
      return run(ctx, next);
    },
    swap(next) {
      serving = mounted(next);
    },
  };
}
