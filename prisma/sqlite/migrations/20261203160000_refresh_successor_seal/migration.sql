-- A refresh's retry inside the reuse grace is now answered from the
-- successor token's own row (its id sealed under the token it replaced),
-- written by the INSERT that creates it, instead of by a second UPDATE of
-- the consumed token's row. The answers kept the old way are dropped: each
-- served a retry for a few seconds only, so an upgrade costs at most a retry
-- in flight its answer (the client signs in again).
ALTER TABLE "OidcArtifact" RENAME COLUMN "retryAnswer" TO "sealedForPredecessor";
UPDATE "OidcArtifact" SET "sealedForPredecessor" = NULL WHERE "sealedForPredecessor" IS NOT NULL;
