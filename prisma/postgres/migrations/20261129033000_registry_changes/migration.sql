-- CreateTable
CREATE TABLE "RegistryChange" (
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "RegistryChange_pkey" PRIMARY KEY ("name")
);
