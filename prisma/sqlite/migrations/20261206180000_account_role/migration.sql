-- AlterTable
ALTER TABLE "Account" ADD COLUMN "role" TEXT NOT NULL DEFAULT 'none';
