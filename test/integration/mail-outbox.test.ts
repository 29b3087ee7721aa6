// Mail through the database queue to a real SMTP server (smtp-server, in this
// process, on an ephemeral loopback port) over TCP, parsed with mailparser:
// delivery with every part intact; a server that is down (nothing
// listening) costs the page nothing and loses nothing; the file outbox
// writes a parseable .eml only its owner can read; two instances on one
// database send each mail once; give-up after the retry window; the wiring
// in a real server; and the configuration's refusals as a table.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, requireSmtpForAccountMail } from '../../src/config/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import type { Log } from '../../src/log.ts';
import { createMail } from '../../src/mail/create-mail.ts';
import { createMailOutboxRepository } from '../../src/mail/mail-outbox-repository.ts';
import { createMailSender, startMailSender } from '../../src/mail/mail-sender.ts';
import { createMailService } from '../../src/mail/mail-service.ts';
import { createMailTemplates } from '../../src/mail/mail-templates.ts';
import { createFileOutboxTransport, createSmtpTransport } from '../../src/mail/mail-transport.ts';
import { retryDelayMs, type RetrySchedule } from '../../src/mail/retry-schedule.ts';
import type { Periodic } from '../../src/periodic.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { errorOf } from '../helpers/error-of.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer } from '../helpers/server.ts';
import { SMTP_PASSWORD, SMTP_USER, smtpUrl, startSmtpSink } from '../helpers/smtp-sink.ts';

const ISSUER = 'https://auth.example.test';
const FROM = 'Example Auth <no-reply@auth.example.test>';
const FAST: RetrySchedule = { firstDelayMs: 50, maxDelayMs: 200, giveUpAfterMs: 60_000 };

async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A log that keeps what it is told, for the tests that read it. */
function recordingLog() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Log };
}

let testDb: TestDatabase;
const templates = createMailTemplates({ issuer: ISSUER });
const loops: Periodic[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});
beforeEach(async () => {
  await Promise.all(loops.splice(0).map((loop) => loop.stop()));
  await testDb.db.prisma.mailOutbox.deleteMany();
});

function queueWithLoop(transport: ReturnType<typeof createSmtpTransport>, log = recordingLog().log) {
  const repository = createMailOutboxRepository(testDb.db);
  const loop = startMailSender({ repository, transport, from: FROM, log, schedule: FAST, intervalMs: 100, onError: (error) => log.warn({ err: error }, 'run failed') });
  loops.push(loop);
  const service = createMailService({ repository, templates, log, onQueued: () => void loop.runNow() });
  return { repository, service, loop };
}

describe('delivery over SMTP', () => {
  it('a queued mail reaches the server with its subject, text, HTML, From and To', async () => {
    const sink = await startSmtpSink();
    try {
      const { service, repository } = queueWithLoop(createSmtpTransport(smtpUrl(sink.port)));
      const id = await service.enqueue({ to: 'ada@example.org', template: 'test', data: { name: 'Ada <script>' } });
      expect(id).toEqual(expect.any(String));
      await eventually(() => sink.received.length === 1);

      const mail = sink.received[0]!;
      expect(mail.subject).toBe('A test message from auth.example.test');
      expect(mail.from?.value).toEqual([{ address: 'no-reply@auth.example.test', name: 'Example Auth' }]);
      expect((mail.to as { text: string }).text).toBe('ada@example.org');
      expect(mail.messageId).toBe(`<${id}@auth.example.test>`);
      expect(mail.text).toContain('Hello Ada <script>,');
      expect(mail.text).toContain(`mail from ${ISSUER} reaches you`);
      // The HTML escapes what it is given, and names the issuer.
      expect(mail.html).toContain('Hello Ada &lt;script&gt;,');
      expect(mail.html).not.toContain('<script>');
      expect(mail.html).toContain(`<a href="${ISSUER}">`);

      // Sent: recorded, the body gone (its links would be credentials).
      await eventually(async () => (await repository.findById(id!))?.sentAt != null);
      const row = await repository.findById(id!);
      expect(row).toMatchObject({ attempts: 1, text: '', html: '', lastError: null, failedAt: null });
    } finally {
      await sink.close();
    }
  });

  it('with the server down, enqueue returns at once, the mail waits, and arrives once the server is up', async () => {
    const port = await freePort(); // nothing listens on it yet
    const { lines, log } = recordingLog();
    const { service, repository } = queueWithLoop(createSmtpTransport(smtpUrl(port)), log);

    const started = performance.now();
    const id = await service.enqueue({ to: 'grace@example.org', template: 'test' });
    expect(performance.now() - started).toBeLessThan(500);
    expect(id).not.toBeNull();

    // Tried and failed, more than once (backoff), and still queued with the reason.
    await eventually(async () => ((await repository.findById(id!))?.attempts ?? 0) >= 2);
    const waiting = await repository.findById(id!);
    expect(waiting).toMatchObject({ sentAt: null, failedAt: null });
    expect(waiting!.text).toContain('test message');
    expect(waiting!.lastError).toMatch(/ECONNECTION|ECONNREFUSED/);
    expect(waiting!.lastError).not.toContain(SMTP_PASSWORD);
    expect(lines.some((line) => line.level === 'warn' && line.message.includes('stays queued'))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(encodeURIComponent(SMTP_PASSWORD));

    const sink = await startSmtpSink(port);
    try {
      await eventually(() => sink.received.length === 1);
      expect(sink.received[0]!.messageId).toBe(`<${id}@auth.example.test>`);
      await eventually(async () => (await repository.findById(id!))?.sentAt != null);
    } finally {
      await sink.close();
    }
  });

  it('a mail queued while no sender runs (a restart) is sent by the next sender to start', async () => {
    const repository = createMailOutboxRepository(testDb.db);
    const id = await createMailService({ repository, templates, log: recordingLog().log }).enqueue({ to: 'lin@example.org', template: 'test' });
    const sink = await startSmtpSink();
    try {
      queueWithLoop(createSmtpTransport(smtpUrl(sink.port)));
      await eventually(() => sink.received.length === 1);
      expect(sink.received[0]!.messageId).toBe(`<${id}@auth.example.test>`);
    } finally {
      await sink.close();
    }
  });

  it('a server that refuses the credentials leaves the mail queued, without the password in its error', async () => {
    const sink = await startSmtpSink();
    try {
      const repository = createMailOutboxRepository(testDb.db);
      const wrong = `smtp://${SMTP_USER}:not-the-password@127.0.0.1:${sink.port}`;
      const sender = createMailSender({ repository, transport: createSmtpTransport(wrong), from: FROM, log: recordingLog().log, schedule: FAST });
      const id = await createMailService({ repository, templates, log: recordingLog().log }).enqueue({ to: 'eve@example.org', template: 'test' });
      await sender.sendDue();
      const row = await repository.findById(id!);
      expect(row).toMatchObject({ attempts: 1, sentAt: null, failedAt: null });
      expect(row!.lastError).toMatch(/^EAUTH: /);
      expect(row!.lastError).not.toContain('not-the-password');
      expect(sink.received).toHaveLength(0);
    } finally {
      await sink.close();
    }
  });

  it('gives up a mail still failing after the retry window, with a log line, and drops its body', async () => {
    const port = await freePort();
    const repository = createMailOutboxRepository(testDb.db);
    const { lines, log } = recordingLog();
    const sender = createMailSender({ repository, transport: createSmtpTransport(smtpUrl(port)), from: FROM, log, schedule: { ...FAST, giveUpAfterMs: 0 } });
    const id = await createMailService({ repository, templates, log }).enqueue({ to: 'max@example.org', template: 'test' });
    await sender.sendDue();
    const row = await repository.findById(id!);
    expect(row).toMatchObject({ sentAt: null, text: '', html: '', attempts: 1 });
    expect(row!.failedAt).toBeInstanceOf(Date);
    expect(lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual([expect.stringContaining(`gave up sending mail ${id}`)]);
    // Given up means no more attempts.
    await sender.sendDue();
    expect((await repository.findById(id!))!.attempts).toBe(1);
  });
});

describe('two instances on one database', () => {
  it('deliver every mail exactly once', async () => {
    const sink = await startSmtpSink();
    // The second instance has its own connection (pool) to the same database.
    const other = await openDatabase(testDb.config, { poolSize: 4 });
    try {
      const repository = createMailOutboxRepository(testDb.db);
      const service = createMailService({ repository, templates, log: recordingLog().log });
      const ids = await Promise.all(Array.from({ length: 12 }, (_, n) => service.enqueue({ to: `user${n}@example.org`, template: 'test' })));
      const senders = [testDb.db, other].map((db) =>
        createMailSender({ repository: createMailOutboxRepository(db), transport: createSmtpTransport(smtpUrl(sink.port)), from: FROM, log: recordingLog().log, schedule: FAST, batchSize: 12 }),
      );
      // Both read the same due rows at the same moment, run after run.
      for (let run = 0; run < 3; run += 1) await Promise.all(senders.map((sender) => sender.sendDue()));

      const delivered = sink.received.map((mail) => mail.messageId).sort();
      expect(delivered).toEqual(ids.map((id) => `<${id}@auth.example.test>`).sort());
      const rows = await testDb.db.prisma.mailOutbox.findMany();
      expect(rows.every((row) => row.sentAt !== null && row.attempts === 1)).toBe(true);
    } finally {
      await other.close();
      await sink.close();
    }
  });
});

describe('file outbox', () => {
  it('writes one parseable .eml per mail, readable by its owner only, and the log says where', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-mail-'));
    try {
      const config = loadConfig({ NODE_ENV: 'development', ISSUER, LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: testDb.url });
      const { lines, log } = recordingLog();
      const mail = createMail({ config, db: testDb.db, log }, { intervalMs: 100 });
      loops.push(...mail.tasks);
      const outbox = path.join(dataDir, 'outbox');
      expect(lines.map((line) => line.message)).toContain(`no LATCHKEY_SMTP_URL: mail is written to ${outbox}, one .eml file per mail`);

      const id = await mail.service.enqueue({ to: 'ida@example.org', template: 'test', data: { name: 'Ida' } });
      const file = path.join(outbox, `${id}.eml`);
      await eventually(async () => (await testDb.db.prisma.mailOutbox.findUnique({ where: { id: id! } }))?.sentAt != null);
      expect(readdirSync(outbox)).toEqual([`${id}.eml`]);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const parsed = await simpleParser(readFileSync(file));
      expect(parsed.subject).toBe('A test message from auth.example.test');
      expect(parsed.from?.value).toEqual([{ address: 'no-reply@auth.example.test', name: 'Latchkey' }]);
      expect((parsed.to as { text: string }).text).toBe('ida@example.org');
      expect(parsed.text).toContain('Hello Ida,');
      expect(parsed.html).toContain('<strong>auth.example.test</strong>');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a failed write (the outbox is not a directory) keeps the mail queued', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-mail-'));
    try {
      writeFileSync(path.join(dataDir, 'outbox'), 'in the way');
      const repository = createMailOutboxRepository(testDb.db);
      const sender = createMailSender({ repository, transport: createFileOutboxTransport(dataDir), from: FROM, log: recordingLog().log, schedule: FAST });
      const id = await createMailService({ repository, templates, log: recordingLog().log }).enqueue({ to: 'ola@example.org', template: 'test' });
      await sender.sendDue();
      expect(await repository.findById(id!)).toMatchObject({ sentAt: null, failedAt: null, attempts: 1, lastError: expect.stringMatching(/EEXIST|ENOTDIR/) });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a real server starts the sender: a queued row becomes an .eml in its data directory', async () => {
    const server = await startTestServer();
    try {
      const repository = createMailOutboxRepository(server.database.db);
      const rendered = createMailTemplates({ issuer: server.issuer }).render('test');
      const id = await repository.insert({ to: 'sam@example.org', ...rendered }, new Date());
      const file = path.join(server.config.dataDir, 'outbox', `${id}.eml`);
      await eventually(() => {
        try {
          return statSync(file).size > 0;
        } catch {
          return false;
        }
      });
      expect((await simpleParser(readFileSync(file))).subject).toBe(`A test message from ${new URL(server.issuer).host}`);
    } finally {
      await server.stop();
    }
  });
});

describe('enqueue never throws into the page', () => {
  it('a database that refuses the write is logged without the mail, and answered with null', async () => {
    const { lines, log } = recordingLog();
    const refusing = { insert: () => Promise.reject(Object.assign(new Error('insert of "https://x/verify?token=SECRET" failed'), { code: 'P2000' })) };
    const id = await createMailService({ repository: refusing, templates, log }).enqueue({ to: 'kim@example.org', template: 'test', data: { link: 'https://x/verify?token=SECRET' } });
    expect(id).toBeNull();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toBe('could not queue a mail');
    expect(JSON.stringify(lines)).not.toContain('SECRET');
    expect(JSON.stringify(lines)).not.toContain('kim@example.org');
  });
});

describe('retry schedule', () => {
  it('doubles from 5 s and stops at an hour', () => {
    expect([1, 2, 3, 4, 10, 11, 50].map((attempts) => retryDelayMs(attempts))).toEqual([5_000, 10_000, 20_000, 40_000, 2_560_000, 3_600_000, 3_600_000]);
  });
});

describe('configuration', () => {
  const base = { ISSUER, DATABASE_URL: 'file::memory:' };

  it('reads LATCHKEY_SMTP_URL and LATCHKEY_MAIL_FROM, with a From on the issuer host by default', () => {
    expect(loadConfig(base).mail).toEqual({ smtpUrl: null, from: 'Latchkey <no-reply@auth.example.test>' });
    const url = 'smtps://u:secret@mail.example.test:465';
    expect(loadConfig({ ...base, LATCHKEY_SMTP_URL: ` ${url} `, LATCHKEY_MAIL_FROM: 'Ops <ops@example.test>' }).mail).toEqual({ smtpUrl: url, from: 'Ops <ops@example.test>' });
    expect(loadConfig({ ...base, LATCHKEY_MAIL_FROM: 'ops@example.test' }).mail.from).toBe('ops@example.test');
  });

  const refusals: [string, Record<string, string>, RegExp][] = [
    ['not a URL', { LATCHKEY_SMTP_URL: 'mail.example.test:587' }, /^LATCHKEY_SMTP_URL: (is not a URL|must start with smtp)/],
    ['another scheme', { LATCHKEY_SMTP_URL: 'https://u:hunter2@mail.example.test' }, /^LATCHKEY_SMTP_URL: must start with smtp:\/\//],
    ['no host', { LATCHKEY_SMTP_URL: 'smtp://u:hunter2@:587' }, /^LATCHKEY_SMTP_URL: (is not a URL|needs a host)/],
    ['no host at all', { LATCHKEY_SMTP_URL: 'smtp://' }, /^LATCHKEY_SMTP_URL: (is not a URL|needs a host)/],
    ['a password without a user', { LATCHKEY_SMTP_URL: 'smtp://:hunter2@mail.example.test' }, /^LATCHKEY_SMTP_URL: has a password but no user name/],
    ['From not an address', { LATCHKEY_MAIL_FROM: 'nobody' }, /^LATCHKEY_MAIL_FROM: "nobody" is not a mail address/],
    ['From with two addresses', { LATCHKEY_MAIL_FROM: 'a@example.test, b@example.test' }, /^LATCHKEY_MAIL_FROM: .* is not a mail address/],
    ['From with an empty name part', { LATCHKEY_MAIL_FROM: 'Ops <>' }, /^LATCHKEY_MAIL_FROM: .* is not a mail address/],
  ];
  it.each(refusals)('refuses %s, naming the variable and never the password', (_case, env, message) => {
    const error = errorOf(() => loadConfig({ ...base, ...env }));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('hunter2');
  });

  const production = { ...base, NODE_ENV: 'production', LATCHKEY_SECRET: randomBytes(32).toString('base64url') };
  const rule: [string, Record<string, string>, { signup: boolean; passwordReset: boolean }, RegExp | null][] = [
    ['production, sign-up on, no SMTP URL', production, { signup: true, passwordReset: false }, /^LATCHKEY_SMTP_URL: is required when NODE_ENV=production and sign-up is on/],
    ['production, reset on, no SMTP URL', production, { signup: false, passwordReset: true }, /^LATCHKEY_SMTP_URL: is required when NODE_ENV=production and password reset is on/],
    ['production, both on, no SMTP URL', production, { signup: true, passwordReset: true }, /sign-up and password reset is on/],
    ['production, both off', production, { signup: false, passwordReset: false }, null],
    ['production with an SMTP URL', { ...production, LATCHKEY_SMTP_URL: 'smtp://mail.example.test' }, { signup: true, passwordReset: true }, null],
    ['development (the file outbox)', base, { signup: true, passwordReset: true }, null],
  ];
  it.each(rule)('sign-up or reset in production needs an SMTP URL: %s', (_case, env, features, refusal) => {
    const config = loadConfig(env);
    if (refusal === null) {
      expect(() => requireSmtpForAccountMail(config, features)).not.toThrow();
    } else {
      const error = errorOf(() => requireSmtpForAccountMail(config, features));
      expect(error.code).toBe('config_invalid');
      expect(error.message).toMatch(refusal);
      expect(error.message!.split('\n')).toHaveLength(1);
    }
  });
});
