// The client_id a token, introspection or revocation request authenticates
// as, read the way oidc-provider reads it (lib/shared/client_auth.js) but
// before it does: from HTTP Basic (RFC 6749 §2.3.1: form-urlencoded, then
// base64), else the form's client_id, else the `sub` of a client_assertion
// JWT (read, not verified: only the name is needed). Anything malformed names
// no client; oidc-provider then refuses the request itself.
import { decodeJwt } from 'jose';

/** A client_id this long is not one of ours; it is not worth a key of its own. */
const MAX_CLIENT_ID = 256;

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

export function clientIdFromForm(form: URLSearchParams | undefined): string | undefined {
  if (!form) return undefined;
  const named = form.get('client_id');
  if (named) return bounded(named);
  const assertion = form.get('client_assertion');
  if (!assertion) return undefined;
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
