-- AlterTable
ALTER TABLE "OidcArtifact" ADD COLUMN "accountId" TEXT;

-- CreateIndex
CREATE INDEX "OidcArtifact_accountId_idx" ON "OidcArtifact"("accountId");

-- Backfill: artifacts saved before this migration name their account only in the payload.
UPDATE "OidcArtifact" SET "accountId" = json_extract("payload", '$.accountId')
WHERE "model" IN ('Session', 'Grant', 'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest')
  AND json_valid("payload") AND json_type("payload", '$.accountId') = 'text';
