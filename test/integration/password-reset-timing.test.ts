// "Forgot password?" answers a known and an unknown address in the same time:
// 30 requests each, interleaved, against Latchkey in its own process (as a
// remote client sees it: a server in this process would run its after-answer
// work on the thread that also reads the answer, and time it), with real SMTP
// delivery of the known address's mails. The medians are printed; the test
// asserts they are within a generous bound, robust on a loaded 2-core machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createServices } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { spawnLatchkey, type LatchkeyProcess } from '../helpers/latchkey-process.ts';
import { createRelyingParty, expectPage, heading, parseForms } from '../helpers/rp.ts';
import { smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { testEnv } from '../helpers/test-env.ts';

const KNOWN = 'timing@example.test';
const CALLBACK = 'https://app.example.test/cb';

let database: TestDatabase;
let dataDir: string;
let sink: SmtpSink;
let running: LatchkeyProcess | undefined;
let issuer: string;
let client: { id: string; secret: string };

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-timing-'));
  sink = await startSmtpSink();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  const env = testEnv({ port, databaseUrl: database.url, dataDir }, { LATCHKEY_SMTP_URL: smtpUrl(sink.port) });
  const services = createServices({ config: loadConfig(env), db: database.db });
  await services.accounts.create({ email: KNOWN, password: 'correct horse battery staple' });
  const created = await services.clients.create({ name: 'Web app', redirectUris: [CALLBACK] });
  client = { id: created.client.clientId, secret: created.clientSecret! };
  running = await spawnLatchkey(env, issuer);
}, 120_000);

afterAll(async () => {
  running?.child.kill('SIGTERM');
  await running?.exited;
  await sink?.close();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const mailsToKnown = () => sink.received.filter((mail) => (mail.to as { text: string }).text === KNOWN).length;

async function eventually(check: () => boolean, ms = 10_000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};

it('known and unknown addresses take the same time (medians of 30 each, interleaved)', { timeout: 60_000 }, async () => {
  const rp = await createRelyingParty({ issuer, clientId: client.id, clientSecret: client.secret, redirectUri: CALLBACK });
  const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
  const forgot = expectPage(await rp.browser.open(/href="([^"]*\/forgot)"/.exec(login.html)![1]!));
  const form = parseForms(forgot.html)[0]!;
  const action = new URL(form.action, forgot.url);

  const post = async (email: string) => {
    // The limits are cleared outside the timed part: 60 requests from one address would trip them.
    await database.db.prisma.throttle.deleteMany();
    const before = mailsToKnown();
    const started = performance.now();
    const step = expectPage(await rp.browser.post(action, new URLSearchParams({ ...form.fields, email })));
    const ms = performance.now() - started;
    expect(step.status).toBe(200);
    expect(heading(step)).toBe('Check your mail');
    // The known address's mail is delivered (its sink is in this process) before the next request is timed.
    if (email === KNOWN) await eventually(() => mailsToKnown() === before + 1);
    return ms;
  };

  for (let i = 0; i < 4; i++) await post(i % 2 ? KNOWN : `warm-up-${i}@example.test`);
  const times = { known: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < 30; i++) {
    const order = i % 2 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const);
    for (const kind of order) times[kind].push(await post(kind === 'known' ? KNOWN : `nobody-${i}@example.test`));
  }
  const known = median(times.known);
  const unknown = median(times.unknown);
  console.log(`reset request median: known ${known.toFixed(1)} ms, unknown ${unknown.toFixed(1)} ms`);
  expect(Math.abs(known - unknown)).toBeLessThan(Math.max(20, 0.5 * Math.max(known, unknown)));
  expect(mailsToKnown()).toBe(32);
});
