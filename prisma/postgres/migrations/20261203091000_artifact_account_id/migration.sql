-- AlterTable
ALTER TABLE "OidcArtifact" ADD COLUMN     "accountId" TEXT;

-- CreateIndex
CREATE INDEX "OidcArtifact_accountId_idx" ON "OidcArtifact"("accountId");

-- Backfill: artifacts saved before this migration name their account only in the payload.
-- json, not jsonb: jsonb refuses the \u0000 escape a payload may hold elsewhere.
UPDATE "OidcArtifact" SET "accountId" = ("payload"::json ->> 'accountId')
WHERE "model" IN ('Session', 'Grant', 'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest')
  AND json_typeof("payload"::json -> 'accountId') = 'string';
