// What a newcomer meets first: `npm start` runs the build and stops when npm
// is stopped, the start-up line names the issuer and the next step, GET / is
// a page pointing at the metadata, the CLI says its version, the build check
// names the command that fixes a stale build, and the SQLite files are
// private to their owner.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProblem } from '../../bin/build-check.js';
import { prepareSqliteFile } from '../../src/db/sqlite-file.ts';
import { packageRoot } from '../../src/paths.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { testEnv } from '../helpers/test-env.ts';

const SUPPORTED_NODE = Number(process.versions.node.split('.')[0]) >= 22;
const scratch = mkdtempSync(path.join(tmpdir(), 'latchkey-first-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

describe('npm start', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('serves from the build, logs the issuer and the next step, and stops when npm is stopped', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const env = testEnv({ port, databaseUrl: database.url, dataDir: path.join(scratch, 'start-data') }, { LOG_LEVEL: 'info', HOST: '0.0.0.0' });
    const npm = spawn('npm', ['start', '--silent'], { cwd: packageRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    try {
      expect(await until(async () => (await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined))?.ok === true, 30_000), output).toBe(true);
      // The log is written asynchronously: the line may follow the first answer by a moment.
      await until(async () => output.includes('Latchkey is ready'), 5_000);
      const ready = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => String(line.msg).startsWith('Latchkey is ready'));
      expect(ready).toMatchObject({ issuer, discovery: `${issuer}/.well-known/openid-configuration`, listening: `0.0.0.0:${port}` });
      expect(ready!.msg).toContain('npx latchkey client create');
      // Only npm's own pid, as someone stopping `npm start` from another terminal has.
      npm.kill('SIGTERM');
      await exited;
      expect(await until(async () => !(await reachable(`${issuer}/healthz`)), 10_000)).toBe(true);
    } finally {
      npm.kill('SIGKILL');
    }
    // oidc-provider warns, in plain text before the JSON log, on a Node it does not support (20 among them: engines in package.json).
    if (SUPPORTED_NODE) expect(output).not.toContain('Unsupported runtime');
  });
});

describe('GET /', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is a page naming the issuer and linking the discovery document and the keys it publishes', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const response = await fetch(`${server.issuer}/`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain(`<code>${server.issuer}</code>`);
    expect(html).toContain(`href="${server.issuer}/.well-known/openid-configuration"`);
    expect(html).toContain(`href="${metadata.jwks_uri}"`);
    expect(html).toContain('npx latchkey client create');
  });

  it('comes in the language the browser asks for', async () => {
    const german = await (await fetch(`${server.issuer}/`, { headers: { 'accept-language': 'de-DE,de;q=0.9' } })).text();
    expect(german).toContain('<html lang="de">');
    expect(german).toContain('Signaturschlüssel (JWKS)');
    const english = await (await fetch(`${server.issuer}/`, { headers: { 'accept-language': 'fr' } })).text();
    expect(english).toContain('<html lang="en">');
    expect(english).toContain('Signing keys (JWKS)');
  });

  it('is only GET and HEAD of / itself', async () => {
    expect((await fetch(`${server.issuer}/`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${server.issuer}/`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${server.issuer}/index.html`)).status).toBe(404);
  });
});

describe('the CLI', () => {
  it('says its version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
    for (const word of ['--version', '-V', 'version']) {
      const result = await runCli([word]);
      expect(result).toMatchObject({ code: 0, stdout: `latchkey ${version}\n` });
    }
    expect(JSON.parse((await runCli(['--version', '--json'])).stdout)).toEqual({ version });
  });
});

describe('the build check', () => {
  it('says the build is missing, stale, or usable', () => {
    const base = path.join(scratch, 'checkout');
    mkdirSync(path.join(base, 'src/cli'), { recursive: true });
    writeFileSync(path.join(base, 'src/cli/main.ts'), '');
    expect(buildProblem('src/cli/main.js', base)).toBe('has not been built');
    mkdirSync(path.join(base, 'dist/app/src/cli'), { recursive: true });
    writeFileSync(path.join(base, 'dist/app/src/cli/main.js'), '');
    writeFileSync(path.join(base, 'dist/app/.tsbuildinfo'), '');
    const built = new Date(Date.now() - 60_000);
    utimesSync(path.join(base, 'dist/app/.tsbuildinfo'), built, built);
    expect(buildProblem('src/cli/main.js', base)).toBe('has sources newer than its build');
    const earlier = new Date(Date.now() - 120_000);
    utimesSync(path.join(base, 'src/cli/main.ts'), earlier, earlier);
    expect(buildProblem('src/cli/main.js', base)).toBeUndefined();
  });
});

describe('the SQLite file', () => {
  it('is created 0600 in a 0700 directory, and so are its WAL files', () => {
    const file = path.join(scratch, 'fresh', 'data', 'latchkey.db');
    prepareSqliteFile(file);
    const db = new Sqlite(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    for (const name of [file, `${file}-wal`, `${file}-shm`]) expect((statSync(name).mode & 0o777).toString(8), name).toBe('600');
    db.close();
    expect((statSync(path.dirname(file)).mode & 0o777).toString(8)).toBe('700');
  });

  it('is tightened when it was readable by others', () => {
    const file = path.join(scratch, 'loose.db');
    writeFileSync(file, '', { mode: 0o644 });
    prepareSqliteFile(file);
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  });
});
