// Prisma CLI configuration for the PostgreSQL schema (see prisma.sqlite.config.ts).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/postgres',
  migrations: { path: 'prisma/postgres/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/latchkey' },
});
