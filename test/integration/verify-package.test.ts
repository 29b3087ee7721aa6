// @latchkey/verify as another project gets it: `npm pack` of the workspace,
// the tarball installed into a scratch project outside the repository (its
// only dependency, jose, from the registry or npm's cache), and plain Node
// scripts there, importing the package by name, verifying a real Latchkey
// token and refusing one for another audience.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as source from '../../packages/verify/src/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const root = realpathSync(fileURLToPath(new URL('../..', import.meta.url)));
const API = 'https://inventory.example.test/api';
const BOUNDED = { timeout: 60_000 };

// npm and node started from here must not inherit `npm test`'s npm_* settings
// (a workspace, a prefix): the scratch project is a stranger to this repository.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));

let scratch: string;
let packed: { filename: string; files: { path: string }[] };
let server: TestServer;
let token: string;

// A resource server's whole use of the package: ESM, by name, no TypeScript.
const VERIFY_SCRIPT = `
import * as exported from '@latchkey/verify';
const { createVerifier } = exported;
const verifier = createVerifier({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
try {
  const { claims, scopes, header } = await verifier.verify(process.env.TOKEN, { requiredScopes: ['inventory:read'] });
  console.log(JSON.stringify({ ok: true, typ: header.typ, scopes, claims, exports: Object.keys(exported).sort() }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, name: error.name, code: error.code, status: error.status }));
}
`;

// The same from CommonJS: require() of an ES module, which Node >= 20.19 does natively.
const REQUIRE_SCRIPT = `
const { createVerifier } = require('@latchkey/verify');
createVerifier({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE })
  .verify(process.env.TOKEN)
  .then((verified) => console.log(JSON.stringify({ sub: verified.claims.sub })));
`;

// A TypeScript consumer: the shipped declarations type the result.
const TYPED_SCRIPT = `
import { createVerifier, type VerifiedAccessToken, type VerifyErrorCode } from '@latchkey/verify';
const verifier = createVerifier({ issuer: 'https://id.example.com', audience: 'https://api.example.com' });
export async function subject(token: string): Promise<string> {
  const verified: VerifiedAccessToken = await verifier.verify(token);
  return verified.claims.sub;
}
export const code: VerifyErrorCode = 'audience_mismatch';
// @ts-expect-error: not one of the package's error codes
export const wrong: VerifyErrorCode = 'no_such_code';
`;

async function runIn(script: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [script], { cwd: scratch, env: { ...cleanEnv, ...env }, ...BOUNDED });
  return JSON.parse(stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  scratch = realpathSync(mkdtempSync(path.join(tmpdir(), 'latchkey-verify-consumer-')));
  const tarballs = path.join(scratch, 'tarballs');
  mkdirSync(tarballs);
  // prepack rebuilds dist from the current source, so the tarball is never stale.
  const pack = await run('npm', ['pack', '--workspace', '@latchkey/verify', '--pack-destination', tarballs, '--json'], { cwd: root, env: cleanEnv, ...BOUNDED });
  [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as (typeof packed)[];

  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'inventory-api', version: '1.0.0', private: true, type: 'module' }));
  await run('npm', ['install', path.join(tarballs, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: scratch, env: cleanEnv, ...BOUNDED });
  writeFileSync(path.join(scratch, 'verify.mjs'), VERIFY_SCRIPT);
  writeFileSync(path.join(scratch, 'verify.cjs'), REQUIRE_SCRIPT);
  writeFileSync(path.join(scratch, 'typed.ts'), TYPED_SCRIPT);

  server = await startTestServer();
  await server.services.resources.create({ identifier: API, scopes: ['inventory:read'] });
  const { client, clientSecret } = await server.services.clients.create({ name: 'Inventory sync', grantTypes: ['client_credentials'], resources: [API] });
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret!, resource: API, scope: 'inventory:read' }),
  });
  token = ((await response.json()) as { access_token: string }).access_token;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('@latchkey/verify, packed and installed outside the repository', () => {
  it('is installed into a project outside the repository, from the tarball, with jose as its only dependency', () => {
    expect(path.relative(root, scratch).startsWith('..')).toBe(true);
    const installed = JSON.parse(readFileSync(path.join(scratch, 'node_modules/@latchkey/verify/package.json'), 'utf8')) as Record<string, unknown>;
    expect(installed).toMatchObject({ name: '@latchkey/verify', version: '0.1.0', license: 'MIT', type: 'module', types: './dist/index.d.ts' });
    expect(installed.dependencies).toEqual({ jose: expect.any(String) });
    const consumer = JSON.parse(readFileSync(path.join(scratch, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(consumer.dependencies['@latchkey/verify']).toMatch(/^file:.*latchkey-verify-0\.1\.0\.tgz$/);
  });

  it('ships the compiled JavaScript and declarations only, never the TypeScript sources', () => {
    const files = packed.files.map((file) => file.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/verifier.js', 'dist/koa.d.ts']));
    expect(files.filter((file) => !/^(package\.json|README\.md|LICENSE|dist\/[\w-]+\.(js|d\.ts))$/.test(file))).toEqual([]);
  });

  it('verifies a real Latchkey access token there and returns its claims', async () => {
    const result = await runIn('verify.mjs', { ISSUER: server.issuer, AUDIENCE: API, TOKEN: token });
    expect(result).toMatchObject({
      ok: true,
      typ: 'at+jwt',
      scopes: ['inventory:read'],
      claims: { iss: server.issuer, aud: API, scope: 'inventory:read', sub: expect.stringMatching(/^lk_/), client_id: expect.stringMatching(/^lk_/) },
    });
    // The tarball exports exactly what the workspace's index.ts does.
    expect(result.exports).toEqual(Object.keys(source).sort());
  });

  it('refuses the same token for another audience (401 audience_mismatch)', async () => {
    const result = await runIn('verify.mjs', { ISSUER: server.issuer, AUDIENCE: 'https://billing.example.test/api', TOKEN: token });
    expect(result).toEqual({ ok: false, name: 'InvalidTokenError', code: 'audience_mismatch', status: 401 });
  });

  it('loads from CommonJS through require()', async () => {
    const result = await runIn('verify.cjs', { ISSUER: server.issuer, AUDIENCE: API, TOKEN: token });
    expect(result).toEqual({ sub: expect.stringMatching(/^lk_/) });
  });

  it('types a TypeScript consumer through its shipped declarations', async () => {
    // The repository's compiler, pointed at the scratch project: resolution starts at typed.ts, so
    // @latchkey/verify and jose come from the scratch project's node_modules. skipLibCheck as
    // `tsc --init` sets it: Koa's types are an optional peer that a non-Koa service lacks.
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const options = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--target', 'es2023', '--types', 'node', '--typeRoots', path.join(root, 'node_modules/@types')];
    await expect(run(process.execPath, [tsc, ...options, 'typed.ts'], { cwd: scratch, env: cleanEnv, ...BOUNDED })).resolves.toBeDefined();
  });
});
