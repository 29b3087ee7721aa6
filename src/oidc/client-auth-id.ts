// The client_id a token, introspection, revocation or PAR request
// authenticated as, read after oidc-provider has handled it, from what it
// parsed: the Client it found (ctx.oidc.client, set before the credentials
// are checked, so a wrong secret still names it); else, for a client_id it
// found no client for, the name presented: the form's client_id (ctx.oidc.params),
// HTTP Basic's user part (RFC 6749 §2.3.1: form-urlencoded, then base64), or
// the `sub` of a client_assertion JWT (read, not verified: only the name is
// needed). Anything malformed names no client. The request stream is never
// touched: oidc-provider alone reads the body.
import { decodeJwt } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** A client_id this long is not one of ours; it is not worth a key of its own. */
const MAX_CLIENT_ID = 256;

export function presentedClientId(ctx: KoaContextWithOIDC): string | undefined {
  // ctx.oidc is only there once oidc-provider routed the request.
  const oidc = ctx.oidc as KoaContextWithOIDC['oidc'] | undefined;
  const found = oidc?.client?.clientId;
  if (found) return bounded(found);
  return clientIdFromParams(oidc?.params) ?? clientIdFromBasic(ctx.get('authorization') || undefined);
}

export function clientIdFromBasic(authorization: string | undefined): string | undefined {
  const match = /^basic +([A-Za-z0-9+/]+={0,2})$/i.exec(authorization?.trim() ?? '');
  if (!match) return undefined;
  const credentials = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = credentials.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return bounded(decodeURIComponent(credentials.slice(0, colon).replace(/\+/g, '%20')));
  } catch {
    return undefined;
  }
}

/** From oidc-provider's parsed parameters: client_id, else a client_assertion's `sub`. */
export function clientIdFromParams(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  if (typeof params.client_id === 'string' && params.client_id) return bounded(params.client_id);
  const assertion = params.client_assertion;
  if (typeof assertion !== 'string' || !assertion) return undefined;
  try {
    const { sub } = decodeJwt(assertion);
    return typeof sub === 'string' ? bounded(sub) : undefined;
  } catch {
    return undefined;
  }
}

function bounded(clientId: string): string | undefined {
  return clientId && clientId.length <= MAX_CLIENT_ID ? clientId : undefined;
}
