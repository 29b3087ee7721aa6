-- CreateTable
CREATE TABLE "RegistryChange" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "version" INTEGER NOT NULL DEFAULT 0
);
