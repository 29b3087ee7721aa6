// Prisma CLI configuration for the SQLite schema. Latchkey applies migrations
// itself at boot (src/db/migrator.ts); this file lets `prisma migrate status`
// and `prisma generate` find the same schema and migrations.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/sqlite',
  migrations: { path: 'prisma/sqlite/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'file:./data/latchkey.db' },
});
