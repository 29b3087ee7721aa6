// Single use under concurrency: one authorization code or one refresh token
// redeemed by 20 requests at once succeeds exactly once, on both dialects,
// and reuse revokes the grant. Inside LATCHKEY_REFRESH_REUSE_GRACE a retried
// refresh (a client that lost the answer) gets the same successor back
// instead, and the chain stays one live token; after it, reuse revokes.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditRepository } from '../../src/audit/audit-repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createRelyingParty, oauthError, signInAndAllow, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';
const OFFLINE = { scope: 'openid offline_access', prompt: 'consent' };
const PARALLEL = 20;

interface Party {
  readonly server: TestServer;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly accountId: string;
  rp(): Promise<RelyingParty>;
}

async function party(env: Record<string, string>, database?: TestDatabase): Promise<Party> {
  const server = await startTestServer({ env, ...(database && { database }) });
  const account = await server.services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
  const { client, clientSecret } = await server.services.clients.create({ name: 'Web app', redirectUris: [CALLBACK] });
  return {
    server,
    clientId: client.clientId,
    clientSecret: clientSecret!,
    accountId: account.id,
    rp: () => createRelyingParty({ issuer: server.issuer, clientId: client.clientId, clientSecret: clientSecret!, redirectUri: CALLBACK }),
  };
}

interface TokenAnswer {
  readonly status: number;
  readonly body: { error?: string; refresh_token?: string; access_token?: string };
}

/** One raw POST /token, as a client would send it (client_secret_basic). */
async function tokenRequest(p: Party, params: Record<string, string>): Promise<TokenAnswer> {
  const response = await fetch(`${p.server.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(p.clientId)}:${encodeURIComponent(p.clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, body: (await response.json()) as TokenAnswer['body'] };
}

const refresh = (p: Party, refreshToken: string) => tokenRequest(p, { grant_type: 'refresh_token', refresh_token: refreshToken });

/** A signed-in person's code (not yet redeemed) and the request it answers. */
async function freshCode(p: Party) {
  const rp = await p.rp();
  const { request, callback } = await signInAndAllow(rp, { email: 'ada@example.test', password: PASSWORD }, OFFLINE);
  return { rp, code: callback.searchParams.get('code')!, request };
}

/** A refresh token of a fresh grant (the code redeemed once). */
async function freshRefreshToken(p: Party) {
  const { rp, code, request } = await freshCode(p);
  const first = await tokenRequest(p, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: request.codeVerifier });
  expect(first.status).toBe(200);
  return { rp, refreshToken: first.body.refresh_token!, accessToken: first.body.access_token! };
}

/** Refresh tokens still usable (neither consumed nor expired), of every grant on the server: tests compare it with a count taken first. */
async function liveRefreshTokens(p: Party): Promise<number> {
  return p.server.database.db.prisma.oidcArtifact.count({ where: { model: 'RefreshToken', consumedAt: null, expiresAt: { gt: new Date() } } });
}

const statuses = (answers: TokenAnswer[]) => answers.map((a) => a.status).sort();
const times = <T>(n: number, make: () => Promise<T>) => Promise.all(Array.from({ length: n }, make));

describe('without a reuse grace (LATCHKEY_REFRESH_REUSE_GRACE=0)', () => {
  let p: Party;
  beforeAll(async () => {
    p = await party({ LATCHKEY_REFRESH_REUSE_GRACE: '0' });
  });
  afterAll(async () => {
    await p?.server.stop();
  });

  it(`redeems one authorization code from ${PARALLEL} parallel requests exactly once, and the reuse revokes the grant`, async () => {
    const { rp, code, request } = await freshCode(p);
    const answers = await times(PARALLEL, () => tokenRequest(p, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: request.codeVerifier }));

    expect(statuses(answers)).toEqual([200, ...Array<number>(PARALLEL - 1).fill(400)]);
    expect(answers.filter((a) => a.status === 400).map((a) => a.body.error)).toEqual(Array(PARALLEL - 1).fill('invalid_grant'));
    // RFC 6749 §4.1.2: the tokens issued from a code used twice are revoked.
    const winner = answers.find((a) => a.status === 200)!.body;
    expect(await oauthError(rp.userinfo(winner.access_token!, p.accountId))).toBe('invalid_token');
    expect((await refresh(p, winner.refresh_token!)).body.error).toBe('invalid_grant');
  });

  it(`rotates one refresh token from ${PARALLEL} parallel requests exactly once, and the reuse revokes the grant`, async () => {
    const { refreshToken } = await freshRefreshToken(p);
    const answers = await times(PARALLEL, () => refresh(p, refreshToken));

    expect(statuses(answers)).toEqual([200, ...Array<number>(PARALLEL - 1).fill(400)]);
    expect(answers.filter((a) => a.status === 400).map((a) => a.body.error)).toEqual(Array(PARALLEL - 1).fill('invalid_grant'));
    // The successor may have been saved after a loser revoked the grant: its row can outlive the grant, never work.
    const successor = answers.find((a) => a.status === 200)!.body.refresh_token!;
    expect((await refresh(p, successor)).body.error).toBe('invalid_grant');
  });

  it('revokes the grant on a sequential reuse', async () => {
    const { refreshToken } = await freshRefreshToken(p);
    const next = await refresh(p, refreshToken);
    expect(next.status).toBe(200);
    expect((await refresh(p, refreshToken)).body.error).toBe('invalid_grant');
    expect((await refresh(p, next.body.refresh_token!)).body.error).toBe('invalid_grant');
  });
});

describe('inside the reuse grace', () => {
  let p: Party;
  beforeAll(async () => {
    p = await party({ LATCHKEY_REFRESH_REUSE_GRACE: '60' });
  });
  afterAll(async () => {
    await p?.server.stop();
  });

  it('answers a retried refresh with the same successor, and the grant lives on', async () => {
    const before = await liveRefreshTokens(p);
    const { rp, refreshToken } = await freshRefreshToken(p);
    const first = await refresh(p, refreshToken);
    expect(first.status).toBe(200);
    // The client lost that answer and sends the same request again.
    const retry = await refresh(p, refreshToken);
    expect({ status: retry.status, refreshToken: retry.body.refresh_token }).toEqual({ status: 200, refreshToken: first.body.refresh_token });
    // A fresh access token that works, and a second retry is answered alike.
    expect(retry.body.access_token).not.toBe(first.body.access_token);
    expect((await rp.userinfo(retry.body.access_token!, p.accountId)).sub).toBe(p.accountId);
    expect((await refresh(p, refreshToken)).body.refresh_token).toBe(first.body.refresh_token);

    const next = await refresh(p, first.body.refresh_token!);
    expect(next.status).toBe(200);
    expect(await liveRefreshTokens(p)).toBe(before + 1);
  });

  it(`answers ${PARALLEL} parallel refreshes with at most one successor, which keeps working; the chain has one live token`, async () => {
    const before = await liveRefreshTokens(p);
    const { refreshToken } = await freshRefreshToken(p);
    const answers = await times(PARALLEL, () => refresh(p, refreshToken));

    const successes = answers.filter((a) => a.status === 200);
    expect(successes.length).toBeGreaterThanOrEqual(1);
    expect(new Set(successes.map((a) => a.body.refresh_token)).size).toBe(1);
    expect(answers.filter((a) => a.status !== 200).map((a) => [a.status, a.body.error])).toEqual(Array(PARALLEL - successes.length).fill([400, 'invalid_grant']));
    expect(await liveRefreshTokens(p)).toBe(before + 1);

    const next = await refresh(p, successes[0]!.body.refresh_token!);
    expect(next.status).toBe(200);
    expect(await liveRefreshTokens(p)).toBe(before + 1);
  });

  it('still revokes the grant when an older token of the chain comes back', async () => {
    const before = await liveRefreshTokens(p);
    const { refreshToken: first } = await freshRefreshToken(p);
    const second = (await refresh(p, first)).body.refresh_token!;
    const third = (await refresh(p, second)).body.refresh_token!;
    // `first` is inside the grace but its successor has been used since: a copy, not a retry.
    expect((await refresh(p, first)).body.error).toBe('invalid_grant');
    expect((await refresh(p, third)).body.error).toBe('invalid_grant');
    expect(await liveRefreshTokens(p)).toBe(before);
  });
});

describe('after the reuse grace', () => {
  let p: Party;
  beforeAll(async () => {
    p = await party({ LATCHKEY_REFRESH_REUSE_GRACE: '1' });
  });
  afterAll(async () => {
    await p?.server.stop();
  });

  it('revokes the grant when a consumed refresh token comes back', async () => {
    const { refreshToken } = await freshRefreshToken(p);
    const next = await refresh(p, refreshToken);
    expect(next.status).toBe(200);
    // The whole point of this test is the 1 s bound: wait it out.
    await sleep(1_500);
    expect((await refresh(p, refreshToken)).body.error).toBe('invalid_grant');
    expect((await refresh(p, next.body.refresh_token!)).body.error).toBe('invalid_grant');
  });
});

describe('the audit of parallel reuse', () => {
  it('records the losers of a parallel redemption that reached the consume as detected reuses of the grant', async () => {
    const database = await createTestDatabase();
    try {
      const p = await party({ LATCHKEY_REFRESH_REUSE_GRACE: '0' }, database);
      const { code, request } = await freshCode(p);
      const codeAnswers = await times(PARALLEL, () => tokenRequest(p, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: request.codeVerifier }));
      const { refreshToken } = await freshRefreshToken(p);
      const refreshAnswers = await times(PARALLEL, () => refresh(p, refreshToken));
      // Stopping the server writes the audit events still buffered.
      await p.server.stop();
      expect([codeAnswers, refreshAnswers].map((answers) => answers.filter((a) => a.status === 200).length)).toEqual([1, 1]);

      const events = await createAuditRepository(database.db).list({ limit: 1000 });
      const reuses = (type: string) => events.filter((event) => event.type === type).map((event) => ({ ...event, details: JSON.parse(event.details ?? '{}') as Record<string, unknown> }));
      // A loser that reads the code or token after another loser revoked its grant finds nothing ('not found'): no reuse of its own.
      for (const type of ['authorization_code.reuse_detected', 'refresh_token.reuse_detected']) {
        expect(reuses(type).length, type).toBeGreaterThanOrEqual(1);
        expect(reuses(type).length, type).toBeLessThanOrEqual(PARALLEL - 1);
      }
      for (const event of [...reuses('authorization_code.reuse_detected'), ...reuses('refresh_token.reuse_detected')]) {
        expect(event).toMatchObject({ actor: p.clientId, clientId: p.clientId });
      }
      // The refresh token's losers all name the account and the grant; at least one of each kind revoked it.
      const grantIds = new Set(reuses('refresh_token.reuse_detected').map((event) => event.details.grantId));
      expect(grantIds.size).toBe(1);
      expect([...grantIds][0]).toEqual(expect.any(String));
      expect(reuses('refresh_token.reuse_detected').every((event) => event.subject === p.accountId)).toBe(true);
      for (const type of ['authorization_code.reuse_detected', 'refresh_token.reuse_detected']) {
        expect(reuses(type).some((event) => event.details.grantRevoked === true), type).toBe(true);
      }
    } finally {
      await database.drop();
    }
  });
});
