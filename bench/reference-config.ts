// Everything the reference server is started with, prepared by the bench: the
// same key types Latchkey signs with (ES256 first for access tokens, RS256 for
// ID tokens, EdDSA published), one static client, one account whose password
// is hashed with Latchkey's own argon2id parameters, so a login costs the
// reference the same hashing work.
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createPasswordHasher } from '../src/accounts/password-hasher.ts';
import { USER } from './fixture.ts';

export interface ReferenceConfig {
  readonly issuer: string;
  readonly port: number;
  readonly jwks: { keys: JWK[] };
  readonly cookieKeys: string[];
  readonly client: { readonly id: string; readonly secret: string };
  readonly account: { readonly id: string; readonly email: string; readonly passwordHash: string };
}

const ALGS = [
  ['ES256', {}],
  ['RS256', { modulusLength: 2048 }],
  ['EdDSA', { crv: 'Ed25519' }],
] as const;

export async function createReferenceConfig(issuer: string, port: number): Promise<ReferenceConfig> {
  const keys: JWK[] = [];
  for (const [alg, options] of ALGS) {
    const { privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
    const jwk = await exportJWK(privateKey);
    keys.push({ ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' });
  }
  return {
    issuer,
    port,
    jwks: { keys },
    cookieKeys: [randomBytes(32).toString('base64url')],
    client: { id: 'reference-client', secret: randomBytes(32).toString('base64url') },
    account: { id: 'reference-account', email: USER.email, passwordHash: await createPasswordHasher().hash(USER.password) },
  };
}
