// Generates both Prisma clients offline. The Prisma CLI insists on a schema
// engine binary path even for `generate`, where it never runs it; any existing
// file satisfies it, which keeps `npm ci` working without network access.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url), PRISMA_HIDE_UPDATE_MESSAGE: '1' };
for (const dialect of ['sqlite', 'postgres']) {
  execFileSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate', '--config', `prisma.${dialect}.config.ts`], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
}
