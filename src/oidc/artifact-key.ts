// The one rule for how oidc-provider's artifacts are keyed at rest: the
// SHA-256 digest (base64url, no padding) of the id oidc-provider hands over,
// so the OidcArtifact table, a backup or a dump holds no working refresh
// token, code, opaque access token, session or interaction cookie value,
// PAR request_uri or device user code. Lookups digest the presented value
// first. A plain digest, not a keyed one: the ids are random values of 126
// bits (sessions, interactions) to 256 (tokens, codes), far too many to
// search, and a key would only be one more secret whose loss logs everybody
// out. (Device user codes are short: about 35 bits, live for minutes, and typed on a page that limits guesses per address; adapter.ts says what their digest can give away.) The migration that upgraded
// rows of the earlier clear format computes the same digest in SQL
// (prisma/*/migrations/*_artifact_digests).
import { createHash } from 'node:crypto';

export function artifactKey(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}
