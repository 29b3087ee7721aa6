// Dev-only: asks Prisma's own schema engine whether it agrees with the
// `_prisma_migrations` ledger our boot-time migrator (src/db/migrator.ts)
// wrote, i.e. what `prisma migrate status` (and, with --apply,
// `prisma migrate deploy`) would say on a connected machine. Like
// scripts/migration-diff.mjs it runs the WebAssembly schema engine the pinned
// Prisma CLI ships, with the JS glue from @prisma/schema-engine-wasm, because
// the native engine cannot be downloaded offline.
//
//   DATABASE_URL=file:/path/latchkey.db node scripts/migration-status.mjs [--apply]
//   node scripts/migration-status.mjs postgresql://postgres@127.0.0.1:5432/latchkey [--apply]
//
// Prints one JSON object. Exit 0 when the history is clean (every committed
// migration applied, none failed, none edited, nothing unknown, and with
// --apply nothing left to apply), 1 when it is not, 2 on usage or engine errors.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const usage = 'usage: node scripts/migration-status.mjs [DATABASE_URL] [--apply]   (or DATABASE_URL in the environment)';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { apply: { type: 'boolean', default: false } } });
const url = positionals[0] ?? process.env.DATABASE_URL;
if (!url || positionals.length > 1) fail(usage);

let dialect;
let adapterFactory;
if (url.startsWith('file:')) {
  dialect = 'sqlite';
  const file = path.resolve(url.slice('file:'.length).replace(/^\/\/(?=\/)/, ''));
  // The adapter would silently create an empty file and report "nothing applied".
  if (!existsSync(file)) fail(`no SQLite database at ${file}`);
  const { PrismaBetterSqlite3 } = await import('@prisma/adapter-better-sqlite3');
  adapterFactory = new PrismaBetterSqlite3({ url: file });
} else if (/^postgres(ql)?:\/\//.test(url)) {
  dialect = 'postgres';
  const parsed = new URL(url);
  const { PrismaPg } = await import('@prisma/adapter-pg');
  // Discrete fields, not connectionString: see PRISMA-OFFLINE.md (a
  // connectionString-built adapter can end up on the wrong database).
  adapterFactory = new PrismaPg({
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    database: decodeURIComponent(parsed.pathname.slice(1)) || undefined,
  });
} else {
  fail(`DATABASE_URL must start with file: or postgresql:// (${usage})`);
}

const baseDir = path.join(root, 'prisma', dialect, 'migrations');
const lockPath = path.join(baseDir, 'migration_lock.toml');
const migrationsList = {
  baseDir,
  shadowDbInitScript: '',
  lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
  migrationDirectories: readdirSync(baseDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({ path: name, migrationFile: { path: 'migration.sql', content: readMigration(path.join(baseDir, name, 'migration.sql')) } })),
};
const filters = { externalTables: [], externalEnums: [] };

const glue = await import(`${root}node_modules/@prisma/schema-engine-wasm/schema_engine_bg.js`);
const bytes = readFileSync(`${root}node_modules/prisma/build/schema_engine_bg.wasm`);
const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();
const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils');

// The engine never disposes the connection it opens; keep hold of it so the
// process can exit at once (an idle pg pool would hold it open for 10 s).
const opened = [];
const tracked = {
  provider: adapterFactory.provider,
  adapterName: adapterFactory.adapterName,
  connect: async () => {
    const adapter = await adapterFactory.connect();
    opened.push(adapter);
    return adapter;
  },
  connectToShadowDb: async () => {
    const adapter = await adapterFactory.connectToShadowDb();
    opened.push(adapter);
    return adapter;
  },
};

let engine;
try {
  engine = await glue.SchemaEngine.new({ datamodels: undefined }, () => {}, bindMigrationAwareSqlAdapterFactory(tracked));
  // Asked before applying, so it judges the ledger as our migrator left it.
  // The WebAssembly engine throws here on a database without the ledger.
  const diagnosis = await engine
    .diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters })
    .catch((error) => ({ error: error?.message ?? String(error) }));
  const report = { dialect, engineVersion: glue.version(), migrations: migrationsList.migrationDirectories.map((d) => d.path), diagnosis };
  if (values.apply) report.applied = (await engine.applyMigrations({ migrationsList, filters })).appliedMigrationNames;
  report.clean =
    diagnosis.error === undefined &&
    diagnosis.hasMigrationsTable &&
    diagnosis.history === null &&
    diagnosis.failedMigrationNames.length === 0 &&
    diagnosis.editedMigrationNames.length === 0 &&
    (report.applied === undefined || report.applied.length === 0);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.clean ? 0 : 1;
} catch (error) {
  // Engine errors carry the database's message; the URL (and any password in it) is never printed.
  fail(`schema engine: ${error?.message ?? String(error)}`);
} finally {
  engine?.free?.();
  await Promise.all(opened.map((adapter) => adapter.dispose().catch(() => {})));
}
// The engine leaves its advisory-lock timeout timer (10 s) pending after a
// PostgreSQL applyMigrations; the answer is already written, so do not wait for it.
process.exit();

function readMigration(file) {
  try {
    return { tag: 'ok', value: readFileSync(file, 'utf8') };
  } catch (error) {
    return { tag: 'error', value: String(error?.message ?? error) };
  }
}

function fail(message) {
  console.error(message);
  process.exit(2);
}
