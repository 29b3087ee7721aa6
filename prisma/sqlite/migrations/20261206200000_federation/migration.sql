-- Upstream identity providers and the identities linked to accounts
-- (src/federation/). An account made by a federated sign-in has no password
-- until it sets one, so "passwordHash" becomes nullable; SQLite cannot drop a
-- NOT NULL in place, so Account is rebuilt (Prisma's RedefineTables), and
-- every index on it is made again, including "Account_email_prefix_idx"
-- from 20261206181000_account_email_prefix, which the models cannot express.
-- The migrator runs this inside one transaction, so a failure leaves the old
-- table as it was.

-- CreateTable
CREATE TABLE "IdentityProvider" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "sealedClientSecret" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "FederatedIdentity" (
    "providerId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "email" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" DATETIME,

    PRIMARY KEY ("providerId", "subject")
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Account" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "email" TEXT NOT NULL,
    "emailVerified" BOOLEAN NOT NULL DEFAULT false,
    "name" TEXT,
    "passwordHash" TEXT,
    "picture" TEXT,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "role" TEXT NOT NULL DEFAULT 'none',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Account" ("createdAt", "disabled", "email", "emailVerified", "id", "name", "passwordHash", "role", "updatedAt") SELECT "createdAt", "disabled", "email", "emailVerified", "id", "name", "passwordHash", "role", "updatedAt" FROM "Account";
DROP TABLE "Account";
ALTER TABLE "new_Account" RENAME TO "Account";
CREATE UNIQUE INDEX "Account_email_key" ON "Account"("email");
CREATE INDEX "Account_email_prefix_idx" ON "Account"("email" COLLATE NOCASE);
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "IdentityProvider_slug_key" ON "IdentityProvider"("slug");

-- CreateIndex
CREATE INDEX "FederatedIdentity_accountId_idx" ON "FederatedIdentity"("accountId");
