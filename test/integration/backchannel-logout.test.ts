// Back-Channel Logout 1.0 end to end. A test RP (an HTTP server on loopback)
// records the logout tokens posted to it, and each is validated with jose
// against Latchkey's JWKS: typ logout+jwt, iss, aud, sub, sid, the event, a
// two-minute exp, no nonce. Every end of a session reaches it: RP-initiated
// logout (openid-client), a password set (the CLI), an operator's revoke (the
// Admin API), the account page's "sign out everywhere else", an account
// deleted. Two instances share one database throughout, both senders running:
// each logout arrives once. An RP that is down gets its logout once it is
// back, from the instance still running; a logout queued hours before, across
// a key rotation, arrives fresh and signed by the new key; clients without a
// URI, deleted or dynamically registered toward a loopback address get
// nothing; the RP's answers and the address rule are tables of exact codes.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogoutDelivery, LogoutDeliveryError } from '../../src/backchannel/logout-delivery.ts';
import { createLogoutOutboxRepository } from '../../src/backchannel/logout-outbox-repository.ts';
import { createLogoutSender } from '../../src/backchannel/logout-sender.ts';
import { createLogoutTokenSigner } from '../../src/backchannel/logout-token.ts';
import { isSpecialUseAddress } from '../../src/backchannel/special-use-address.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createKeys } from '../../src/keys/create-keys.ts';
import type { RetrySchedule } from '../../src/mail/retry-schedule.ts';
import { adminCall, adminToken, until } from '../helpers/admin.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, parseForms, signInAndAllow, UserAgent, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const CALLBACK = 'https://app.example.test/cb';
/** Retries within milliseconds; given up after the default day. */
const FAST: RetrySchedule = { firstDelayMs: 50, maxDelayMs: 200, giveUpAfterMs: 24 * 3_600_000 };
/** Long enough for several runs of every sender: a second delivery would have come by then. */
const SETTLE_MS = 600;

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly token: string;
  readonly status: number;
}

/** The RP's back-channel endpoint: records every POST, answers 200 or what `answers` says for its path ('hang': never). */
class TestRp {
  readonly received: Received[] = [];
  readonly answers = new Map<string, number | 'hang'>();
  port = 0;
  #server: http.Server | undefined;

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://rp').pathname;
        const answer = this.answers.get(path) ?? 200;
        if (answer === 'hang') return;
        const token = new URLSearchParams(Buffer.concat(chunks).toString()).get('logout_token') ?? '';
        this.received.push({ path, contentType: req.headers['content-type'] ?? '', token, status: answer });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Down: connections are refused until start() again (same port). */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The tokens answered 200 at `path`. */
  delivered(path: string): string[] {
    return this.received.filter((entry) => entry.path === path && entry.status === 200).map((entry) => entry.token);
  }
}

const rp = new TestRp();
let database: TestDatabase;
let a: TestServer;
let b: TestServer;
let aRunning = true;
let issuer: string;
let accountCount = 0;

beforeAll(async () => {
  await rp.start();
  database = await createTestDatabase();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  // What a deployment shares: the database, the issuer URL, the master secret. Keys are watched every second (the rotation below).
  const env = { ISSUER: issuer, LATCHKEY_SECRET: randomBytes(32).toString('base64url'), LATCHKEY_REGISTRATION: 'open', LATCHKEY_KEY_WATCH_INTERVAL: '1' };
  const logoutSender = { intervalMs: 100, schedule: FAST };
  a = await startTestServer({ database, env: { ...env, PORT: String(port) }, logoutSender });
  b = await startTestServer({ database, env, logoutSender });
});

afterAll(async () => {
  await b?.stop();
  if (aRunning) await a?.stop();
  await database?.drop();
  await rp.stop();
});

const bUrl = () => `http://127.0.0.1:${b.config.port}`;

async function newAccount() {
  const email = `person${++accountCount}@example.test`;
  const account = await a.services.accounts.create({ email, password: PASSWORD });
  return { id: account.id, email };
}

/** A client whose back-channel logout URI is the test RP's `path` (none when null). */
async function newClient(path: string | null) {
  const { client, clientSecret } = await a.services.clients.create({ name: `App ${path ?? 'without URI'}`, redirectUris: [CALLBACK], ...(path !== null && { backchannelLogoutUri: rp.url(path) }) });
  return { id: client.clientId, secret: clientSecret! };
}

const rpFor = async (client: { id: string; secret: string }, browser?: UserAgent): Promise<RelyingParty> => {
  const relyingParty = await createRelyingParty({ issuer, clientId: client.id, clientSecret: client.secret, redirectUri: CALLBACK });
  return browser ? Object.assign(relyingParty, { browser }) : relyingParty;
};

/** Signs `email` in to the client in a fresh browser (or `browser`); resolves with the RP, its tokens and the session's sid there. */
async function signIn(client: { id: string; secret: string }, email: string, browser?: UserAgent) {
  const relyingParty = await rpFor(client, browser);
  const { request, callback } = await signInAndAllow(relyingParty, { email, password: PASSWORD });
  const tokens = await relyingParty.exchange(callback, request);
  const sid = tokens.claims()!.sid as string;
  expect(sid).toEqual(expect.any(String));
  return { relyingParty, tokens, sid };
}

/** A logout token as the RP must check it (Back-Channel Logout 1.0 §2.6), checked against `jwksUrl` (the issuer's by default). */
async function validLogoutToken(token: string, clientId: string, jwksUrl = `${issuer}/jwks`): Promise<JWTPayload> {
  expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'logout+jwt', alg: 'RS256' });
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl)), {
    issuer,
    audience: clientId,
    typ: 'logout+jwt',
    requiredClaims: ['iat', 'exp', 'jti', 'sub', 'sid', 'events'],
  });
  expect(payload.events).toEqual({ [EVENT]: {} });
  expect(payload).not.toHaveProperty('nonce');
  expect(payload.exp! - payload.iat!).toBe(120);
  return payload;
}

/** Waits for `count` deliveries at `path`, then a while longer: no more may come. */
async function deliveredTo(path: string, count = 1): Promise<string[]> {
  await until(() => rp.delivered(path).length >= count, { what: `${count} logout token(s) at ${path}` });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const tokens = rp.delivered(path);
  expect(tokens).toHaveLength(count);
  for (const entry of rp.received.filter((candidate) => candidate.path === path)) expect(entry.contentType).toBe('application/x-www-form-urlencoded');
  return tokens;
}

/** The stored audit events of `type` about `clientId` (the servers write theirs within a second), details parsed. */
async function auditOf(type: string, clientId: string) {
  const rows = await database.db.prisma.auditEvent.findMany({ where: { type, clientId }, orderBy: { id: 'asc' } });
  return rows.map((row) => ({ ...row, details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null }));
}

const auditEventually = (type: string, clientId: string, count = 1) =>
  until(async () => {
    const events = await auditOf(type, clientId);
    return events.length >= count && events;
  }, { what: `${count} ${type} event(s)` });

const rowsFor = (clientId: string) => database.db.prisma.logoutOutbox.findMany({ where: { clientId }, orderBy: { createdAt: 'asc' } });

describe('discovery', () => {
  it('advertises back-channel logout, with the session (sid) in the token', async () => {
    const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
  });
});

describe('every end of a session reaches the RP once, with a valid logout token', () => {
  it('RP-initiated logout (openid-client): the client with a URI, never the one without', async () => {
    const ada = await newAccount();
    const withUri = await newClient('/rp-initiated');
    const withoutUri = await newClient(null);
    const { relyingParty, tokens, sid } = await signIn(withUri, ada.email);
    // The same browser, already signed in: the second client needs consent only.
    const other = await rpFor(withoutUri, relyingParty.browser);
    const otherRequest = await other.authorizationRequest();
    await other.exchange(expectRedirect(await relyingParty.browser.submit(await relyingParty.browser.open(otherRequest.url), {}, 'Allow')), otherRequest);

    const confirmation = await relyingParty.browser.open(relyingParty.endSessionUrl({ id_token_hint: tokens.id_token! }));
    expect(heading(confirmation)).toBe('Sign out?');
    await relyingParty.browser.submit(confirmation, {}, 'Sign out');

    const [token] = await deliveredTo('/rp-initiated');
    expect(await validLogoutToken(token!, withUri.id)).toMatchObject({ sub: ada.id, sid });
    const [queued] = await auditEventually('backchannel_logout.queued', withUri.id);
    expect(queued).toMatchObject({ subject: ada.id, details: { trigger: 'logout' } });
    expect((await auditEventually('backchannel_logout.delivered', withUri.id))[0]).toMatchObject({ subject: ada.id, details: { trigger: 'logout', attempts: 1 } });
    // Nothing owed, nothing queued, for the client without a URI.
    expect(await rowsFor(withoutUri.id)).toEqual([]);
    expect(await auditOf('backchannel_logout.queued', withoutUri.id)).toEqual([]);
  });

  it('a password set (latchkey user set-password, as the reset link sets it): every session, each with its own sid', async () => {
    const ada = await newAccount();
    const client = await newClient('/password');
    const sids = [(await signIn(client, ada.email)).sid, (await signIn(client, ada.email)).sid];
    expect(new Set(sids).size).toBe(2);

    const cli = await runCli(['user', 'set-password', ada.email, '--password-stdin'], { env: { DATABASE_URL: database.url, ISSUER: issuer }, input: 'another horse battery staple' });
    expect(cli.code, cli.stderr).toBe(0);

    const tokens = await deliveredTo('/password', 2);
    const payloads = await Promise.all(tokens.map((token) => validLogoutToken(token, client.id)));
    expect(payloads.map((payload) => payload.sid).sort()).toEqual([...sids].sort());
    expect(payloads.every((payload) => payload.sub === ada.id)).toBe(true);
    // Queued by the CLI (its audit events written before it exits), delivered by a server.
    expect((await auditOf('backchannel_logout.queued', client.id)).map((event) => event.details!.trigger)).toEqual(['password_set', 'password_set']);
  });

  it("an operator's revoke (Admin API)", async () => {
    const ada = await newAccount();
    const client = await newClient('/revoke');
    const { sid } = await signIn(client, ada.email);
    const token = await adminToken(a);
    expect((await adminCall(a, `/users/${ada.id}/revoke-sessions`, { method: 'POST', token })).status).toBe(204);

    const [logout] = await deliveredTo('/revoke');
    expect(await validLogoutToken(logout!, client.id)).toMatchObject({ sub: ada.id, sid });
    expect((await auditEventually('backchannel_logout.queued', client.id))[0]!.details).toMatchObject({ trigger: 'sessions_revoked' });
  });

  it('the account page\'s "sign out everywhere else": the other browser\'s session only', async () => {
    const ada = await newAccount();
    const client = await newClient('/elsewhere');
    const { sid } = await signIn(client, ada.email);
    const here = new UserAgent(issuer);
    const login = expectPage(await here.open('/account'));
    const page = expectPage(await here.submit(login, { email: ada.email, password: PASSWORD }));
    expect(heading(page)).toBe('Your account');
    const form = parseForms(page.html).find((candidate) => candidate.action === '/account/sessions/end')!;
    expect(expectPage(await here.post(form.action, new URLSearchParams(form.fields))).url.search).toBe('?done=sessions');

    const [logout] = await deliveredTo('/elsewhere');
    expect(await validLogoutToken(logout!, client.id)).toMatchObject({ sub: ada.id, sid });
    expect((await auditEventually('backchannel_logout.queued', client.id))[0]!.details).toMatchObject({ trigger: 'sessions_ended' });
  });

  it('an account disabled (latchkey user disable, and the Admin API)', async () => {
    for (const [path, disable] of [
      ['/disabled-cli', async (email: string) => expect((await runCli(['user', 'disable', email], { env: { DATABASE_URL: database.url, ISSUER: issuer } })).code).toBe(0)],
      ['/disabled-api', async (_email: string, id: string) => expect((await adminCall(a, `/users/${id}`, { method: 'PATCH', token: await adminToken(a), body: { disabled: true } })).status).toBe(200)],
    ] as const) {
      const ada = await newAccount();
      const client = await newClient(path);
      const { sid } = await signIn(client, ada.email);
      await disable(ada.email, ada.id);

      const [logout] = await deliveredTo(path);
      expect(await validLogoutToken(logout!, client.id)).toMatchObject({ sub: ada.id, sid });
      expect((await auditEventually('backchannel_logout.queued', client.id))[0]!.details).toMatchObject({ trigger: 'account_disabled' });
      // Its grants and refresh tokens ended with the sessions.
      expect(await database.db.prisma.oidcArtifact.count({ where: { accountId: ada.id } })).toBe(0);
    }
  });

  it('an account deleted', async () => {
    const ada = await newAccount();
    const client = await newClient('/deleted');
    const { sid } = await signIn(client, ada.email);
    expect(await a.services.accounts.delete(ada.id)).toBe(true);

    const [logout] = await deliveredTo('/deleted');
    expect(await validLogoutToken(logout!, client.id)).toMatchObject({ sub: ada.id, sid });
    expect((await auditEventually('backchannel_logout.queued', client.id))[0]!.details).toMatchObject({ trigger: 'account_deleted' });
  });
});

describe('what is owed nothing more', () => {
  it.each([
    ['a client deleted while its logout waits', 'client_gone', (clientId: string) => a.services.clients.delete(clientId)],
    ['a client whose URI was removed while its logout waits', 'no_backchannel_uri', (clientId: string) => a.services.clients.update(clientId, { backchannelLogoutUri: null })],
  ])('%s is given up (%s)', async (_name, code, change) => {
    const path = `/${code}`;
    rp.answers.set(path, 503);
    const ada = await newAccount();
    const client = await newClient(path);
    await signIn(client, ada.email);
    await a.services.accounts.setPassword(ada.id, 'another horse battery staple');
    await until(async () => (await rowsFor(client.id))[0]?.lastError?.startsWith('http_status: the RP answered HTTP 503'), { what: 'a failed attempt' });
    await change(client.id);

    const [row] = await until(async () => {
      const rows = await rowsFor(client.id);
      return rows[0]?.failedAt && rows;
    }, { what: 'the logout given up' });
    expect(row!.lastError).toMatch(new RegExp(`^${code}: `));
    expect(row!.deliveredAt).toBeNull();
    expect((await auditEventually('backchannel_logout.failed', client.id))[0]!.details).toMatchObject({ error: code, trigger: 'password_set' });
    rp.answers.delete(path);
    expect(rp.delivered(path)).toEqual([]);
  });

  it('a client registered over /reg may not make Latchkey post to a special-use address (address_refused), with nothing sent', async () => {
    const registration = await fetch(`${issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Stranger', redirect_uris: [CALLBACK], backchannel_logout_uri: rp.url('/dynamic') }),
    });
    expect(registration.status).toBe(201);
    const registered = (await registration.json()) as { client_id: string; client_secret: string; backchannel_logout_uri: string };
    expect(registered.backchannel_logout_uri).toBe(rp.url('/dynamic'));
    const ada = await newAccount();
    await signIn({ id: registered.client_id, secret: registered.client_secret }, ada.email);
    await a.services.accounts.setPassword(ada.id, 'another horse battery staple');

    const [row] = await until(async () => {
      const rows = await rowsFor(registered.client_id);
      return rows[0]?.failedAt && rows;
    }, { what: 'the logout refused' });
    expect(row!.lastError).toBe('address_refused: 127.0.0.1 is a special-use address');
    expect(row!.attempts).toBe(1);
    expect((await auditEventually('backchannel_logout.failed', registered.client_id))[0]!.details).toMatchObject({ error: 'address_refused' });
    expect(rp.received.filter((entry) => entry.path === '/dynamic')).toEqual([]);
  });
});

describe('an RP that fails', () => {
  it.each([
    [400, 'given up at once (the RP refused the token)'],
    [401, 'given up at once'],
    [404, 'given up at once'],
    [429, 'retried, then delivered'],
    [500, 'retried, then delivered'],
    [503, 'retried, then delivered'],
  ])('answering %i: %s', async (status, outcome) => {
    const path = `/answer-${status}`;
    rp.answers.set(path, status);
    const ada = await newAccount();
    const client = await newClient(path);
    await a.services.logoutNotices.queue([{ clientId: client.id, accountId: ada.id, sid: 'sid-1' }], 'sessions_revoked');
    const error = `http_status: the RP answered HTTP ${status}`;

    if (outcome.startsWith('given up')) {
      const [row] = await until(async () => {
        const rows = await rowsFor(client.id);
        return rows[0]?.failedAt && rows;
      }, { what: 'the logout given up' });
      expect(row).toMatchObject({ attempts: 1, lastError: error, deliveredAt: null });
      expect((await auditEventually('backchannel_logout.failed', client.id))[0]!.details).toMatchObject({ error: 'http_status', attempts: 1 });
      rp.answers.delete(path);
      return;
    }
    const [row] = await until(async () => {
      const rows = await rowsFor(client.id);
      return (rows[0]?.attempts ?? 0) >= 2 && rows;
    }, { what: 'a retry' });
    expect(row).toMatchObject({ lastError: error, failedAt: null, deliveredAt: null });
    rp.answers.delete(path);
    const [token] = await deliveredTo(path);
    expect(await validLogoutToken(token!, client.id)).toMatchObject({ sub: ada.id, sid: 'sid-1' });
    expect((await rowsFor(client.id))[0]).toMatchObject({ lastError: null, failedAt: null });
  });

  it('is given up once its logout has failed for the retry window', async () => {
    const path = '/give-up';
    rp.answers.set(path, 503);
    const ada = await newAccount();
    const client = await newClient(path);
    // Queued two days ago: the first failure is past the day's window.
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3_600_000);
    await createLogoutOutboxRepository(database.db).insertMany([{ clientId: client.id, accountId: ada.id, sid: null, trigger: 'password_set' }], twoDaysAgo);

    const [row] = await until(async () => {
      const rows = await rowsFor(client.id);
      return rows[0]?.failedAt && rows;
    }, { what: 'the logout given up' });
    expect(row).toMatchObject({ attempts: 1, lastError: 'http_status: the RP answered HTTP 503', deliveredAt: null });
    expect((await auditEventually('backchannel_logout.failed', client.id))[0]!.details).toMatchObject({ error: 'http_status', trigger: 'password_set' });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    expect(rp.received.filter((entry) => entry.path === path)).toHaveLength(1);
    rp.answers.delete(path);
  });
});

describe('delivery of one token', () => {
  const delivery = createLogoutDelivery({ timeoutMs: 300 });
  const outcome = (promise: Promise<void>) =>
    promise.then(
      () => 'delivered',
      (error: unknown) => (error instanceof LogoutDeliveryError ? `${error.code}${error.permanent ? ' (permanent)' : ''}` : `unexpected: ${String(error)}`),
    );

  it.each([
    ['200', 200, false, 'delivered'],
    ['204', 204, false, 'delivered'],
    ['400 (the RP refused the token)', 400, false, 'http_status (permanent)'],
    ['403', 403, false, 'http_status (permanent)'],
    ['410', 410, false, 'http_status (permanent)'],
    ['408', 408, false, 'http_status'],
    ['425', 425, false, 'http_status'],
    ['429', 429, false, 'http_status'],
    ['302 (redirects are not followed)', 302, false, 'http_status'],
    ['500', 500, false, 'http_status'],
    ['no answer', 'hang', false, 'timeout'],
    ['an operator-registered client on loopback', 200, false, 'delivered'],
    ['a dynamically registered client on loopback', 200, true, 'address_refused (permanent)'],
  ] as const)('the RP at 127.0.0.1 answering %s', async (_name, answer, publicOnly, expected) => {
    const path = `/delivery-${String(answer)}-${publicOnly}`;
    rp.answers.set(path, answer);
    expect(await outcome(delivery.post(rp.url(path), 'x.y.z', { publicOnly }))).toBe(expected);
    rp.answers.delete(path);
  });

  it.each([
    ['nothing listening', async () => `http://127.0.0.1:${await freePort()}/logout`, false, 'unreachable'],
    ['a host that does not resolve', async () => 'http://rp.invalid/logout', false, 'unreachable'],
    ['localhost, for a dynamically registered client (checked after DNS)', async () => `http://localhost:${rp.port}/logout`, true, 'address_refused (permanent)'],
    ['[::1], for a dynamically registered client', async () => `http://[::1]:${rp.port}/logout`, true, 'address_refused (permanent)'],
    ['the cloud metadata address, for a dynamically registered client', async () => 'http://169.254.169.254/logout', true, 'address_refused (permanent)'],
  ])('%s', async (_name, uri, publicOnly, expected) => {
    expect(await outcome(delivery.post(await uri(), 'x.y.z', { publicOnly }))).toBe(expected);
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['192.168.1.1', true],
    ['100.64.0.1', true],
    ['169.254.169.254', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['198.51.100.7', true],
    ['::1', true],
    ['::', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['2001:db8::1', true],
    ['not an address', true],
    ['93.184.215.14', false],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false],
    ['::ffff:8.8.8.8', false],
  ])('%s is special-use: %s', (address, special) => {
    expect(isSpecialUseAddress(address)).toBe(special);
  });
});

describe('across instances and time', () => {
  it('senders on separate connections to one database deliver each logout once', async () => {
    const path = '/many';
    const ada = await newAccount();
    const client = await newClient(path);
    const sids = Array.from({ length: 12 }, (_, n) => `sid-${n}`);
    await a.services.logoutNotices.queue(sids.map((sid) => ({ clientId: client.id, accountId: ada.id, sid })), 'sessions_revoked');
    // Two more senders beside the servers' two, each on its own connection pool, run in lockstep.
    const others = await Promise.all([openDatabase(database.config, { poolSize: 4 }), openDatabase(database.config, { poolSize: 4 })]);
    try {
      const senders = others.map((db) => {
        const keys = createKeys(a.config, db);
        return createLogoutSender({
          repository: createLogoutOutboxRepository(db),
          clients: a.services.clients,
          registeredDynamically: async () => false,
          signer: createLogoutTokenSigner({ issuer, signingJwks: () => keys.service.signingJwks() }),
          delivery: createLogoutDelivery(),
          audit: { record: () => {} },
          log: { warn: () => {} },
          schedule: FAST,
          batchSize: 12,
        });
      });
      for (let run = 0; run < 3; run += 1) await Promise.all(senders.map((sender) => sender.sendDue()));
    } finally {
      await Promise.all(others.map((db) => db.close()));
    }
    const tokens = await deliveredTo(path, 12);
    const payloads = await Promise.all(tokens.map((token) => validLogoutToken(token, client.id)));
    expect(payloads.map((payload) => payload.sid).sort()).toEqual([...sids].sort());
    expect(new Set(payloads.map((payload) => payload.jti)).size).toBe(12);
    const rows = await rowsFor(client.id);
    expect(rows.every((row) => row.deliveredAt !== null && row.attempts === 1)).toBe(true);
  });

  it('a logout queued hours ago, across a key rotation, arrives fresh and signed by the key signing now', async () => {
    const path = '/rotation';
    rp.answers.set(path, 503);
    const ada = await newAccount();
    const client = await newClient(path);
    const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000);
    await createLogoutOutboxRepository(database.db).insertMany([{ clientId: client.id, accountId: ada.id, sid: 'sid-old', trigger: 'sessions_revoked' }], threeHoursAgo);
    await until(async () => (await rowsFor(client.id))[0]?.lastError, { what: 'a failed attempt' });

    const rsaKids = async (base: string) => ((await (await fetch(`${base}/jwks`)).json()) as { keys: { kid: string; alg: string }[] }).keys.filter((key) => key.alg === 'RS256').map((key) => key.kid);
    const [oldKid] = await rsaKids(issuer);
    const rotation = createKeys(a.config, database.db).rotation;
    const fresh = await rotation.rotate({ alg: 'RS256', activateAfterSec: 0 });
    await rotation.retire(oldKid!, { force: true });
    // Both instances see the new key set (their watchers run every second).
    for (const base of [issuer, bUrl()]) await until(async () => JSON.stringify(await rsaKids(base)) === JSON.stringify([fresh.kid]), { what: `the rotation at ${base}` });

    rp.answers.delete(path);
    const [token] = await deliveredTo(path);
    expect(decodeProtectedHeader(token!).kid).toBe(fresh.kid);
    const payload = await validLogoutToken(token!, client.id);
    expect(payload).toMatchObject({ sub: ada.id, sid: 'sid-old' });
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(30);
  });

  it('an RP that is down gets its logout once it is back, from the instance still running', async () => {
    const path = '/down';
    const ada = await newAccount();
    const client = await newClient(path);
    const { sid } = await signIn(client, ada.email);
    const token = await adminToken(a);
    await rp.stop();
    expect((await adminCall(a, `/users/${ada.id}/revoke-sessions`, { method: 'POST', token })).status).toBe(204);
    await until(async () => (await rowsFor(client.id))[0]?.lastError?.startsWith('unreachable: ECONNREFUSED'), { what: 'a refused connection' });

    await a.stop();
    aRunning = false;
    await rp.start();

    const [logout] = await deliveredTo(path);
    // Served by the instance left (the same keys, the same issuer).
    expect(await validLogoutToken(logout!, client.id, `${bUrl()}/jwks`)).toMatchObject({ sub: ada.id, sid });
    const [row] = await rowsFor(client.id);
    expect(row!.attempts).toBeGreaterThanOrEqual(2);
    expect(row!.deliveredAt).toBeInstanceOf(Date);
    expect(await auditEventually('backchannel_logout.delivered', client.id)).toHaveLength(1);
  });
});
