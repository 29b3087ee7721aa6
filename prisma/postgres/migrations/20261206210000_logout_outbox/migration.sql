-- CreateTable
CREATE TABLE "LogoutOutbox" (
    "id" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "sid" TEXT,
    "trigger" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL,
    "lastError" TEXT,
    "deliveredAt" TIMESTAMP(3),
    "failedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LogoutOutbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LogoutOutbox_deliveredAt_failedAt_nextAttemptAt_idx" ON "LogoutOutbox"("deliveredAt", "failedAt", "nextAttemptAt");
