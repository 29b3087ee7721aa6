// How many access tokens a resource server can check per second, in process,
// with no network once the key set is loaded. Latchkey's verifier against
// the baseline it is built on: jose's jwtVerify with a local key set.
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createVerifier } from '../packages/verify/src/index.ts';
import { API } from './fixture.ts';
import { percentile, type Measurement } from './http-load.ts';

/** Verifies `tokens` round-robin for `seconds`; every verification must succeed. */
async function loop(verify: (token: string) => Promise<unknown>, tokens: readonly string[], seconds: number): Promise<Measurement> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let i = 0;
  while (performance.now() < deadline) {
    // Timed in batches: a clock read per token would be a noticeable part of ~50 µs.
    const begun = performance.now();
    for (let n = 0; n < 50; n++) await verify(tokens[i++ % tokens.length]!);
    latencies.push((performance.now() - begun) / 50);
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: i / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), ok: i, failed: 0, note: 'in the bench process; latency per token, averaged over batches of 50' };
}

export async function verifyWithLatchkeyVerifier(issuer: string, tokens: readonly string[], seconds: number, warmupSeconds: number): Promise<Measurement> {
  const verifier = createVerifier({ issuer, audience: API });
  await verifier.preload();
  if (warmupSeconds > 0) await loop((token) => verifier.verify(token), tokens, warmupSeconds);
  return loop((token) => verifier.verify(token), tokens, seconds);
}

export async function verifyWithBareJose(issuer: string, tokens: readonly string[], seconds: number, warmupSeconds: number): Promise<Measurement> {
  const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const keys = createLocalJWKSet((await (await fetch(metadata.jwks_uri)).json()) as JSONWebKeySet);
  const options = { issuer, audience: API, typ: 'at+jwt', algorithms: ['ES256', 'RS256', 'EdDSA'] };
  const verify = (token: string) => jwtVerify(token, keys, options);
  if (warmupSeconds > 0) await loop(verify, tokens, warmupSeconds);
  return loop(verify, tokens, seconds);
}
