// Decides whether the verifier may fetch from (or send credentials to) a URL:
// https anywhere, plain http only on a loopback host or when the caller set
// allowInsecure. Keys fetched over plain http from another machine can be
// swapped in transit, and whoever swaps them can mint any token this
// verifier accepts; an introspection request over it hands out the resource
// server's client secret.
import { InsecureUrlError, type InsecureUrlField } from './errors.ts';

export function requireSecureTransport(url: URL, field: InsecureUrlField, allowInsecure: boolean): void {
  if (url.protocol === 'https:' || allowInsecure || isLoopbackHost(url.hostname)) return;
  throw new InsecureUrlError(field);
}

/** localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine. The WHATWG URL parser has already normalised the host. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
