// The Admin API on two instances behind one issuer and one database, as a
// deployment runs it: a token issued by one is accepted by the other (the
// same keys, read from the database), and an ETag read on one instance goes
// stale through a change made on the other. Nothing is kept in one process.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let a: TestServer;
let b: TestServer;
/** Instance b, reached on its own port (its issuer is a's). */
let bUrl: { issuer: string };

beforeAll(async () => {
  const secret = randomBytes(32).toString('base64url');
  a = await startTestServer({ env: { LATCHKEY_SECRET: secret } });
  b = await startTestServer({ database: a.database, env: { LATCHKEY_SECRET: secret, ISSUER: a.issuer } });
  bUrl = { issuer: `http://127.0.0.1:${b.config.port}` };
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

it('a change made through one instance makes the other refuse a stale If-Match', async () => {
  const token = await adminToken(a, ['clients:read', 'clients:write']);
  const created = await adminCall(a, '/clients', { token, body: { client_name: 'Shared', grant_types: ['client_credentials'], resources: [`${a.issuer}/admin`], scope: 'clients:read' } });
  expect(created.status).toBe(201);
  const id = created.body.client_id as string;
  const etag = created.headers.get('etag')!;

  const readOnB = await adminCall(bUrl, `/clients/${id}`, { token });
  expect(readOnB.status).toBe(200);
  expect(readOnB.headers.get('etag')).toBe(etag);

  const changedOnB = await adminCall(bUrl, `/clients/${id}`, { token, method: 'PATCH', headers: { 'if-match': etag }, body: { client_name: 'Changed on b' } });
  expect(changedOnB.status).toBe(200);
  const staleOnA = await adminCall(a, `/clients/${id}`, { token, method: 'PATCH', headers: { 'if-match': etag }, body: { client_name: 'Changed on a' } });
  expect(staleOnA.status).toBe(412);
  expect(staleOnA.body.code).toBe('precondition_failed');
  expect((await adminCall(a, `/clients/${id}`, { token })).body.client_name).toBe('Changed on b');
});
