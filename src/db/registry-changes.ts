// The RegistryChange counters (see prisma/models.prisma): Prisma operations a
// repository puts in the same transaction as its write, and the read that
// caches poll. Counters only grow, so a poll can never mistake a changed
// registry for an unchanged one.
import type { PrismaClient } from './database.ts';

export type Registry = 'clients' | 'resources';

/** The bump to run in the same transaction as a write to `registry`. */
export function bumpRegistry(prisma: PrismaClient, registry: Registry) {
  return prisma.registryChange.upsert({
    where: { name: registry },
    create: { name: registry, version: 1 },
    update: { version: { increment: 1 } },
  });
}

export async function readRegistryVersion(prisma: PrismaClient, registry: Registry): Promise<string> {
  const row = await prisma.registryChange.findUnique({ where: { name: registry } });
  return String(row?.version ?? 0);
}
