-- CreateTable
CREATE TABLE "LogoutOutbox" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "clientId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "sid" TEXT,
    "trigger" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL,
    "lastError" TEXT,
    "deliveredAt" DATETIME,
    "failedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE INDEX "LogoutOutbox_deliveredAt_failedAt_nextAttemptAt_idx" ON "LogoutOutbox"("deliveredAt", "failedAt", "nextAttemptAt");
