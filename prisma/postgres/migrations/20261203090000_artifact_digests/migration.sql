-- AlterTable
ALTER TABLE "OidcArtifact" ADD COLUMN     "retryAnswer" TEXT;

-- Artifacts are keyed by the SHA-256 (base64url) of oidc-provider's id, not
-- the id, which is the bearer credential (src/oidc/artifact-key.ts). Rows of
-- the earlier clear format are re-keyed in place, so no session, refresh
-- token or code in flight stops working. Each payload loses its copy of the
-- id (jti), an interaction its session's cookie value and a device code its
-- user code (the digest in "userCode" still finds it). An interaction
-- naming a pushed request or a device code is dropped instead (that sign-in
-- starts again): those ids are sealed now, which SQL cannot do. Revoked JWT
-- ids are kept as they are: a JWT's jti is not a credential.
-- jsonb refuses the JSON escape \u0000, which text may hold (a request
-- parameter an interaction keeps): such a row could not be rewritten below
-- and would stop the migration, so it goes.
DELETE FROM "OidcArtifact"
WHERE "model" <> 'RevokedAccessToken' AND strpos("payload", '\u0000') > 0;

DELETE FROM "OidcArtifact"
WHERE "model" = 'Interaction'
  AND ("payload"::jsonb ? 'parJti' OR "payload"::jsonb ? 'deviceCode');

UPDATE "OidcArtifact" SET "payload" = ("payload"::jsonb - 'userCode')::text WHERE "model" = 'DeviceCode';

UPDATE "OidcArtifact"
SET "id" = rtrim(translate(encode(sha256(convert_to("id", 'UTF8')), 'base64'), '+/', '-_'), '='),
    "userCode" = rtrim(translate(encode(sha256(convert_to("userCode", 'UTF8')), 'base64'), '+/', '-_'), '='),
    "payload" = (("payload"::jsonb #- '{session,cookie}') - 'jti')::text
WHERE "model" <> 'RevokedAccessToken';
