// Posts one logout token to a client's backchannel_logout_uri (Back-Channel
// Logout 1.0 §2.5: application/x-www-form-urlencoded, logout_token=…) and
// says how it went. 200 or 204 is delivered. Redirects are not followed.
// A failure carries a stable code and whether trying again can help: a 4xx
// other than 408, 425 and 429 is the RP refusing this token (§2.8: 400 when
// the logout failed) and is not retried; a 5xx, a timeout or a connection
// that fails is, by the sender's schedule.
//
// The address rule (SSRF): a client an operator registered (CLI, Admin API)
// may point anywhere, since back-channel URIs usually live in the network
// Latchkey runs in (compose, Kubernetes). A client registered by a stranger
// over /reg (dynamic registration) may not make Latchkey post inside it:
// with `publicOnly`, every address the host resolves to is checked as the
// socket connects (the lookup itself is replaced, so a DNS answer that
// changes between check and connect cannot slip through), and a special-use
// one (special-use-address.ts) is refused.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isSpecialUseAddress } from './special-use-address.ts';

export const LOGOUT_DELIVERY_TIMEOUT_MS = 5_000;

export type LogoutDeliveryErrorCode = 'address_refused' | 'unreachable' | 'timeout' | 'http_status';

export class LogoutDeliveryError extends Error {
  override readonly name = 'LogoutDeliveryError';
  constructor(
    readonly code: LogoutDeliveryErrorCode,
    message: string,
    /** True when trying again cannot help. */
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** 4xx answers that say "later", not "no". */
const RETRYABLE_CLIENT_ERRORS: ReadonlySet<number> = new Set([408, 425, 429]);

export interface LogoutDeliveryOptions {
  /** Refuse special-use addresses (clients registered over /reg). */
  readonly publicOnly: boolean;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails for special-use addresses, in whichever form (one address or all) the socket asks for. */
function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => isSpecialUseAddress(entry.address));
    if (refused) return callback(new LogoutDeliveryError('address_refused', `${hostname} resolves to the special-use address ${refused.address}`, true), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}

export function createLogoutDelivery({ timeoutMs = LOGOUT_DELIVERY_TIMEOUT_MS }: { timeoutMs?: number } = {}) {
  return {
    /** Resolves once the RP answered 200 or 204; rejects with a LogoutDeliveryError otherwise. */
    post(uri: string, logoutToken: string, { publicOnly }: LogoutDeliveryOptions): Promise<void> {
      const url = new URL(uri);
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (publicOnly && isIP(host) && isSpecialUseAddress(host)) {
        return Promise.reject(new LogoutDeliveryError('address_refused', `${host} is a special-use address`, true));
      }
      const body = new URLSearchParams({ logout_token: logoutToken }).toString();
      const transport = url.protocol === 'https:' ? https : http;
      return new Promise<void>((resolve, reject) => {
        const request = transport.request(
          url,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'user-agent': 'Latchkey' },
            timeout: timeoutMs,
            ...(publicOnly && { lookup: publicOnlyLookup as unknown as typeof dnsLookup }),
          },
          (response) => {
            // The body says nothing the status does not; read and dropped so the socket is freed.
            response.resume();
            const status = response.statusCode ?? 0;
            if (status === 200 || status === 204) return resolve();
            const permanent = status >= 400 && status < 500 && !RETRYABLE_CLIENT_ERRORS.has(status);
            reject(new LogoutDeliveryError('http_status', `the RP answered HTTP ${status}`, permanent, status));
          },
        );
        request.on('timeout', () => request.destroy(new LogoutDeliveryError('timeout', `no answer within ${timeoutMs} ms`, false)));
        request.on('error', (error: NodeJS.ErrnoException) => {
          if (error instanceof LogoutDeliveryError) return reject(error);
          reject(new LogoutDeliveryError('unreachable', `${error.code ?? 'error'}: ${error.message}`.slice(0, 300), false));
        });
        request.end(body);
      });
    },
  };
}

export type LogoutDelivery = ReturnType<typeof createLogoutDelivery>;
