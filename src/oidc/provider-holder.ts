// Holds the oidc-provider instance the app serves with, and lets a new one
// (built with a new key set: oidc-provider reads `jwks` only at construction)
// replace it while requests keep flowing. Each request runs wholly on the
// instance current when it arrived; later requests get the new one. Nothing
// is lost in the swap: sessions, grants and every other artifact live in the
// database, and all instances share the same cookie keys.
import type Koa from 'koa';
import compose from 'koa-compose';
import type { Provider } from 'oidc-provider';

export interface ProviderHolder {
  /** The instance new requests are served by. */
  readonly current: Provider;
  /** Koa middleware running the current instance's middleware stack. */
  readonly middleware: Koa.Middleware;
  /** Serves every request from now on with `next`. */
  swap(next: Provider): void;
}

export function createProviderHolder(initial: Provider): ProviderHolder {
  const mount = (provider: Provider) => ({ provider, run: compose(provider.middleware as Koa.Middleware[]) });
  let mounted = mount(initial);

  return {
    get current() {
      return mounted.provider;
    },
    middleware: (ctx, next) => {
      // Read once: a swap during this request does not move it to the new instance halfway.
      const { run } = mounted;
      return run(ctx, next);
    },
    swap(next) {
      mounted = mount(next);
    },
  };
}
