-- AlterTable
ALTER TABLE "OidcArtifact" ADD COLUMN "retryAnswer" TEXT;

-- Artifacts are keyed by the SHA-256 (base64url) of oidc-provider's id, not
-- the id, which is the bearer credential (src/oidc/artifact-key.ts). Rows of
-- the earlier clear format are re-keyed in place, so no session, refresh
-- token or code in flight stops working. Each payload loses its copy of the
-- id (jti), an interaction its session's cookie value and a device code its
-- user code (the digest in "userCode" still finds it). An interaction
-- naming a pushed request or a device code is dropped instead (that sign-in
-- starts again): those ids are sealed now, which SQL cannot do. Revoked JWT
-- ids are kept as they are: a JWT's jti is not a credential.
-- latchkey_sha256_base64url is registered by the migrator (SQLite has no SHA-256).
DELETE FROM "OidcArtifact"
WHERE "model" = 'Interaction'
  AND (json_extract("payload", '$.parJti') IS NOT NULL OR json_extract("payload", '$.deviceCode') IS NOT NULL);

UPDATE "OidcArtifact" SET "payload" = json_remove("payload", '$.userCode') WHERE "model" = 'DeviceCode';

UPDATE "OidcArtifact"
SET "id" = latchkey_sha256_base64url("id"),
    "userCode" = latchkey_sha256_base64url("userCode"),
    "payload" = json_remove("payload", '$.jti', '$.session.cookie')
WHERE "model" <> 'RevokedAccessToken';
