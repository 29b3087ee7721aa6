// Dev-only: prints the SQL that takes one version of prisma/models.prisma to
// another, for one dialect, without Prisma's native schema engine (which
// cannot be downloaded offline). It runs the very WebAssembly schema engine
// the pinned Prisma CLI ships, with the JS glue from @prisma/schema-engine-wasm.
//
//   node scripts/migration-diff.mjs sqlite|postgres [--from-git REV]
//
// Without --from-git the diff starts from an empty database (the first
// migration). With it, from the models as they were at REV, which gives the
// next migration with no shadow database. Write the output to
// prisma/<dialect>/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql and commit.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'from-git': { type: 'string' } } });
const dialect = positionals[0];
if (dialect !== 'sqlite' && dialect !== 'postgres') {
  console.error('usage: node scripts/migration-diff.mjs sqlite|postgres [--from-git REV]');
  process.exit(2);
}

const datasource = readFileSync(`${root}prisma/${dialect}/datasource.prisma`, 'utf8');
const files = (models) => [
  { path: 'datasource.prisma', content: datasource },
  { path: 'models.prisma', content: models },
];
const current = readFileSync(`${root}prisma/models.prisma`, 'utf8');
const from = values['from-git']
  ? { tag: 'schemaDatamodel', files: files(execFileSync('git', ['show', `${values['from-git']}:prisma/models.prisma`], { cwd: root, encoding: 'utf8' })) }
  : { tag: 'empty' };

// The engine wants a live connection even for a schema-to-schema diff.
let adapterFactory;
let drop = async () => {};
if (dialect === 'sqlite') {
  const { PrismaBetterSqlite3 } = await import('@prisma/adapter-better-sqlite3');
  adapterFactory = new PrismaBetterSqlite3({ url: ':memory:' });
} else {
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const pg = (await import('pg')).default;
  const base = process.env.PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `latchkey_diff_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  adapterFactory = new PrismaPg({ host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) || undefined, database: name });
  drop = async () => { await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await admin.end(); };
}

const glue = await import(`${root}node_modules/@prisma/schema-engine-wasm/schema_engine_bg.js`);
const bytes = readFileSync(`${root}node_modules/prisma/build/schema_engine_bg.wasm`);
const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();
const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils');

try {
  const engine = await glue.SchemaEngine.new({ datamodels: undefined }, () => {}, bindMigrationAwareSqlAdapterFactory(adapterFactory));
  const result = await engine.diff({
    from,
    to: { tag: 'schemaDatamodel', files: files(current) },
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  });
  process.stdout.write(result.stdout);
} finally {
  await drop();
}
