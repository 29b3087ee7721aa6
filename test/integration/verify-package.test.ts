// `import { createVerifier } from 'latchkey/verify'` the way another service
// would: through package.json's exports, on plain Node (no tsx), against the
// compiled build that `npm ci` produces (rebuilt here from the current source).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedAccessToken } from 'latchkey/verify';
import * as source from '../../src/verify/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const API = 'https://inventory.example.test/api';

let server: TestServer;
let token: string;

beforeAll(async () => {
  await run(process.execPath, ['scripts/build-verify.mjs'], { cwd: root });
  server = await startTestServer();
  await server.services.resources.create({ identifier: API, scopes: ['inventory:read'] });
  const { client, clientSecret } = await server.services.clients.create({ name: 'Inventory sync', grantTypes: ['client_credentials'], resources: [API] });
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret! }),
  });
  token = ((await response.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await server?.stop();
});

describe('latchkey/verify', () => {
  it('exports exactly what src/verify/index.ts exports', async () => {
    const shipped = await import('latchkey/verify');
    expect(Object.keys(shipped).sort()).toEqual(Object.keys(source).sort());
  });

  it('verifies a Latchkey token from a plain Node process (no tsx)', async () => {
    const program = `
      import { createVerifier, requireToken } from 'latchkey/verify';
      const verifier = createVerifier({ issuer: process.env.ISSUER, audience: process.env.API });
      const verified = await verifier.verify(process.env.TOKEN, { requiredScopes: ['inventory:read'] });
      const refused = await verifier.verify(process.env.TOKEN, { requiredScopes: ['inventory:write'] }).catch((error) => error.code);
      console.log(JSON.stringify({ sub: verified.claims.sub, scopes: verified.scopes, refused, middleware: typeof requireToken({ verifier }) }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program], {
      cwd: root,
      env: { PATH: process.env.PATH, ISSUER: server.issuer, API, TOKEN: token },
    });
    const result = JSON.parse(stdout) as Pick<VerifiedAccessToken, 'scopes'> & { sub: string; refused: string; middleware: string };
    expect(result).toEqual({ sub: expect.stringMatching(/^lk_/), scopes: ['inventory:read'], refused: 'insufficient_scope', middleware: 'function' });
  });
});
