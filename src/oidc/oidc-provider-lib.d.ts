// Types for the few oidc-provider modules outside its public entry point that
// provider-internals.ts imports (the package ships no types for them). Only
// what that file uses, as that file's contracts describe it.
declare module 'oidc-provider/lib/actions/grants/index.js' {
  import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
  interface BuiltInGrant {
    handler(provider: Provider, helpers: Record<string, unknown>, ctx: KoaContextWithOIDC): Promise<void>;
    readonly parameters: Set<string>;
    readonly grantType: string;
  }
  export const authorization_code: BuiltInGrant;
  export const refresh_token: BuiltInGrant;
  export const device_code: BuiltInGrant;
}

declare module 'oidc-provider/lib/helpers/re_render_errors.js' {
  export class ReRenderError extends Error {}
  export class NotFoundError extends ReRenderError {}
  export class ExpiredError extends ReRenderError {}
  export class AbortedError extends ReRenderError {}
  export class AlreadyUsedError extends ReRenderError {}
  export class NoCodeError extends ReRenderError {}
}

declare module 'oidc-provider/lib/helpers/grants.js' {
  const helpers: Record<string, (...args: unknown[]) => unknown>;
  export = helpers;
}

declare module 'oidc-provider/lib/helpers/revoke.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export default function revoke(ctx: KoaContextWithOIDC, grantId: string): Promise<void>;
}

// For test/integration/provider-contract.test.ts only: the per-provider internal state it inspects.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  export default function instance(provider: object): Record<string, unknown>;
}

// For test/integration/provider-contract.test.ts only: the device flow's form markup, which deviceFormXsrf reads.
declare module 'oidc-provider/lib/helpers/user_code_form.js' {
  export function input(action: string, csrfToken: string, code: string | undefined, charset: string): string;
  export function confirm(action: string, csrfToken: string, code: string): string;
}
