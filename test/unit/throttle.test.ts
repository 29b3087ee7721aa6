// The pure parts of brute-force protection: the back-off numbers, how client
// addresses and client_ids are read, the login page's words, and the bound on
// concurrent password checks.
import { describe, expect, it } from 'vitest';
import { clientIdFromBasic, clientIdFromParams } from '../../src/oidc/client-auth-id.ts';
import { createConcurrencyLimit } from '../../src/throttle/concurrency-limit.ts';
import { createTranslator } from '../../src/i18n/translator.ts';
import { tooManyAttemptsMessage } from '../../src/interactions/login-messages.ts';
import { createRateLimit } from '../../src/throttle/rate-limit.ts';
import { createThrottleKeys, throttledAddress } from '../../src/throttle/throttle-keys.ts';
import { blockSeconds, THROTTLE_POLICIES, type ThrottleScope } from '../../src/throttle/throttle-policy.ts';

const basic = (user: string, password = 'secret') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const unsignedJwt = (payload: object) =>
  `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;

describe('back-off', () => {
  it.each<[ThrottleScope, number[]]>([
    // Seconds blocked after the 1st, 2nd, … failure.
    ['login_account_ip', [0, 0, 0, 0, 15, 30, 60, 120, 240, 480, 900, 900, 900]],
    ['login_account', [0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 30, 60, 120, 240, 300, 300]],
    ['login_interaction', [...new Array<number>(9).fill(0), 1800, 1800, 1800]],
    ['client_at_ip', [...new Array<number>(19).fill(0), 15, 30, 60, 60]],
    // Self-service: every attempt counts; the one that reaches `free` starts the block.
    ['signup_ip', [...new Array<number>(9).fill(0), 600, 1200, 1800, 1800]],
    ['mail_email', [0, 0, 0, 0, 600, 1200, 1800, 1800]],
    ['link_ip', [...new Array<number>(19).fill(0), 60, 120, 240, 480, 900, 900]],
    // Second-factor codes per account: five tries, then the back-off to 15 minutes.
    ['mfa_account', [0, 0, 0, 0, 15, 30, 60, 120, 240, 480, 900, 900]],
    ['passkey_ip', [...new Array<number>(19).fill(0), 60, 120, 240, 480, 900, 900]],
    // Device-flow user codes from one address: the tenth miss starts the back-off, to 15 minutes.
    ['device_code_ip', [...new Array<number>(9).fill(0), 60, 120, 240, 480, 900, 900]],
    // A pace, not a count: every poll of a pending device code holds the next one off 4 s.
    ['device_poll', [4, 4, 4, 4]],
  ])('%s blocks for %o seconds', (scope, expected) => {
    expect(expected.map((_, index) => blockSeconds(THROTTLE_POLICIES[scope], index + 1))).toEqual(expected);
  });

  it('stays at the cap for absurd counts, and every cap is shorter than the memory of failures', () => {
    for (const policy of Object.values(THROTTLE_POLICIES)) {
      expect(blockSeconds(policy, 1_000_000)).toBe(policy.maxBlock);
      expect(policy.maxBlock).toBeLessThan(policy.forgetAfter);
    }
  });

  it('lets only the (account, IP), (client, IP) and second-factor keys be cleared by a success', () => {
    const cleared = Object.entries(THROTTLE_POLICIES).filter(([, policy]) => policy.clearedBySuccess).map(([scope]) => scope);
    expect(cleared.sort()).toEqual(['client_at_ip', 'login_account_ip', 'mfa_account']);
  });
});

describe('keys', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ])('counts %s as %s', (ip, expected) => {
    expect(throttledAddress(ip)).toBe(expected);
  });

  it('names neither the email nor the address, and treats case and spaces in an email as one account', () => {
    const keys = createThrottleKeys('m'.repeat(40));
    const login = keys.login(' Ada@Example.TEST ', '203.0.113.7', 'uid-1');
    expect(keys.login('ada@example.test', '203.0.113.7', 'uid-1')).toEqual(login);
    const text = JSON.stringify(login);
    expect(text).not.toMatch(/ada|example|203\.0\.113/i);
    expect(login.account.id).toBe(login.accountDigest);
    // Another IPv6 address of the same /64 is the same client.
    expect(keys.login('ada@example.test', '2001:db8::1', 'uid-1').accountIp).toEqual(keys.login('ada@example.test', '2001:db8::2', 'uid-1').accountIp);
    expect(keys.login('ada@example.test', '2001:db8:0:1::1', 'uid-1').accountIp).not.toEqual(keys.login('ada@example.test', '2001:db8::1', 'uid-1').accountIp);
    // Another master secret, other keys: the digests are keyed.
    // Another login page, another interaction key; the others are the same.
    const elsewhere = keys.login('ada@example.test', '203.0.113.7', 'uid-2');
    expect(elsewhere.interaction).not.toEqual(login.interaction);
    expect(elsewhere.interaction.scope).toBe('login_interaction');
    expect({ ...elsewhere, interaction: login.interaction }).toEqual(login);
    expect(createThrottleKeys('n'.repeat(40)).login('ada@example.test', '203.0.113.7', 'uid-1').account).not.toEqual(login.account);
  });
});

describe('client authentication keys', () => {
  it('count a client_id per address (an IPv6 /64), never alone, and name neither', () => {
    const keys = createThrottleKeys('m'.repeat(40));
    const here = keys.clientAuth('lk_app', '203.0.113.7');
    expect(here.client!.scope).toBe('client_at_ip');
    expect(keys.clientAuth('lk_app', '203.0.113.8').client).not.toEqual(here.client);
    expect(keys.clientAuth('lk_other', '203.0.113.7').client).not.toEqual(here.client);
    expect(keys.clientAuth('lk_app', '2001:db8::1').client).toEqual(keys.clientAuth('lk_app', '2001:db8::2').client);
    expect(keys.clientAuth(undefined, '203.0.113.7')).toEqual({ ip: here.ip });
    expect(JSON.stringify(here)).not.toMatch(/lk_app|203\.0\.113/);
  });
});

describe('client_id of a client authentication', () => {
  it.each<[string, string | undefined, string | undefined]>([
    ['Basic', basic('lk_app'), 'lk_app'],
    ['Basic, form-urlencoded id', basic('lk%3Aapp+1'), 'lk:app 1'],
    ['Basic, lower-case scheme', basic('lk_app').replace('Basic', 'basic'), 'lk_app'],
    ['Bearer', 'Bearer abc', undefined],
    ['Basic without a colon', `Basic ${Buffer.from('lk_app').toString('base64')}`, undefined],
    ['Basic with an empty id', basic(''), undefined],
    ['Basic, not base64', 'Basic ***', undefined],
    ['Basic, bad percent-encoding', basic('%E0%A4%A'), undefined],
    ['Basic, absurd id', basic('x'.repeat(300)), undefined],
    ['none', undefined, undefined],
  ])('%s', (_case, header, expected) => {
    expect(clientIdFromBasic(header)).toBe(expected);
  });

  it.each<[string, Record<string, unknown> | undefined, string | undefined]>([
    ['client_id', { grant_type: 'client_credentials', client_id: 'lk_app', client_secret: 'x' }, 'lk_app'],
    ['a client assertion', { client_assertion: unsignedJwt({ sub: 'lk_jwt', iss: 'lk_jwt' }) }, 'lk_jwt'],
    ['an assertion without sub', { client_assertion: unsignedJwt({ iss: 'lk_jwt' }) }, undefined],
    ['a malformed assertion', { client_assertion: 'not.a.jwt' }, undefined],
    ['an absurd client_id', { client_id: 'x'.repeat(300) }, undefined],
    ['nothing', { grant_type: 'client_credentials' }, undefined],
    ['no parameters parsed', undefined, undefined],
  ])('from the parsed parameters: %s', (_case, params, expected) => {
    expect(clientIdFromParams(params)).toBe(expected);
  });
});

describe('login page words', () => {
  it.each([
    [1, 'Too many attempts. Try again in 1 minute.'],
    [60, 'Too many attempts. Try again in 1 minute.'],
    [61, 'Too many attempts. Try again in 2 minutes.'],
    [900, 'Too many attempts. Try again in 15 minutes.'],
  ])('%i s: %s', (seconds, message) => {
    expect(createTranslator().t('en')(tooManyAttemptsMessage(seconds))).toBe(message);
  });
});

describe('concurrency limit, shared fairly among sources', () => {
  function deferred() {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    return { promise, resolve };
  }

  /** Queues tasks that wait for their gate; `started` records the order they start in. */
  function harness(options: { concurrency: number; queue: number }) {
    const limit = createConcurrencyLimit(options);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const submit = (source: string, name: string) => {
      const gate = deferred();
      gates.set(name, gate);
      return limit.run(source, async () => {
        started.push(name);
        await gate.promise;
        return name;
      });
    };
    const finish = async (name: string) => {
      gates.get(name)!.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    };
    return { limit, started, submit, finish };
  }

  it('runs `concurrency` tasks at once, queues `queue` more, and refuses the rest without running them', async () => {
    const { limit, started, submit, finish } = harness({ concurrency: 2, queue: 2 });
    const results = ['t0', 't1', 't2', 't3', 't4'].map((name) => submit('a', name));
    await Promise.resolve();
    expect(started).toEqual(['t0', 't1']);
    expect([limit.running, limit.waiting]).toEqual([2, 2]);
    expect(await results[4]).toEqual({ ran: false });

    await finish('t1');
    expect(await results[1]).toEqual({ ran: true, value: 't1' });
    expect(started).toEqual(['t0', 't1', 't2']);
    expect([limit.running, limit.waiting]).toEqual([2, 1]);

    for (const name of ['t0', 't2', 't3']) await finish(name);
    expect(await Promise.all(results.slice(0, 4))).toEqual(['t0', 't1', 't2', 't3'].map((value) => ({ ran: true, value })));
    expect([limit.running, limit.waiting]).toEqual([0, 0]);
  });

  it('serves the sources in turn, the one served longest ago first, not the waiters in order of arrival', async () => {
    const { started, submit, finish } = harness({ concurrency: 1, queue: 10 });
    const results = [submit('a', 'running'), submit('a', 'a1'), submit('a', 'a2'), submit('a', 'a3'), submit('b', 'b1'), submit('c', 'c1'), submit('b', 'b2')];
    for (const name of ['running', 'a1', 'b1', 'c1', 'a2', 'b2', 'a3']) await finish(name);
    expect(started).toEqual(['running', 'a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
    expect((await Promise.all(results)).every((result) => result.ran)).toBe(true);
  });

  it('gives a new source a place when the queue is full, taken from the newest waiter of the longest line', async () => {
    const { limit, started, submit, finish } = harness({ concurrency: 1, queue: 3 });
    const flood = [submit('a', 'running'), submit('a', 'a1'), submit('a', 'a2'), submit('a', 'a3')];
    const b1 = submit('b', 'b1');
    // a3 made way for b1: its task never runs.
    expect(await flood[3]).toEqual({ ran: false });
    expect(limit.waiting).toBe(3);
    const c1 = submit('c', 'c1');
    expect(await flood[2]).toEqual({ ran: false });
    // Every line now holds one: no source has a place to spare, so more from any source are refused.
    expect(await submit('b', 'b2')).toEqual({ ran: false });
    expect(await submit('a', 'a4')).toEqual({ ran: false });
    for (const name of ['running', 'a1', 'b1', 'c1']) await finish(name);
    expect(started).toEqual(['running', 'a1', 'b1', 'c1']);
    expect(await b1).toEqual({ ran: true, value: 'b1' });
    expect(await c1).toEqual({ ran: true, value: 'c1' });
  });

  it('serves a source that was served long ago before a flood served a moment ago', async () => {
    const { started, submit, finish } = harness({ concurrency: 1, queue: 10 });
    const earlier = submit('person', 'p0');
    await finish('p0');
    await earlier;
    const flood = ['f1', 'f2', 'f3', 'f4'].map((name) => submit('flood', name));
    const other = submit('stranger', 's1');
    const person = submit('person', 'p1');
    for (const name of ['f1', 'p1', 'f2', 's1', 'f3', 'f4']) await finish(name);
    // f1 ran at once; then the person's old claim beats the flood's and the stranger's newer ones,
    // and the stranger's (from when it came) beats the flood's once the flood is served again.
    expect(started).toEqual(['p0', 'f1', 'p1', 'f2', 's1', 'f3', 'f4']);
    expect((await Promise.all([...flood, other, person])).every((result) => result.ran)).toBe(true);
  });

  it('frees the slot of a task that fails', async () => {
    const limit = createConcurrencyLimit({ concurrency: 1, queue: 0 });
    await expect(limit.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit.run('a', async () => 'next')).toEqual({ ran: true, value: 'next' });
    expect(limit.running).toBe(0);
  });

  it.each([
    [{ concurrency: 0, queue: 1 }, 'concurrency'],
    [{ concurrency: 1.5, queue: 1 }, 'concurrency'],
    [{ concurrency: 1, queue: -1 }, 'queue'],
  ])('refuses %o', (options, word) => {
    expect(() => createConcurrencyLimit(options)).toThrow(word);
  });
});

describe('rate limit', () => {
  it('allows a burst of perMinute, then one every 60/perMinute seconds, per key', () => {
    let at = 0;
    const limit = createRateLimit({ perMinute: 6, now: () => at });
    expect(Array.from({ length: 7 }, () => limit.take('a').allowed)).toEqual([true, true, true, true, true, true, false]);
    expect(limit.take('a')).toEqual({ allowed: false, retryAfter: 10 });
    expect(limit.take('b').allowed).toBe(true);
    at += 9_000;
    expect(limit.take('a')).toEqual({ allowed: false, retryAfter: 1 });
    at += 1_000;
    expect(limit.take('a').allowed).toBe(true);
    expect(limit.take('a').allowed).toBe(false);
    // A minute idle fills the bucket again, and never beyond the burst.
    at += 600_000;
    expect(Array.from({ length: 7 }, () => limit.take('a').allowed).filter(Boolean)).toHaveLength(6);
  });

  it('refuses a rate below one a minute', () => {
    expect(() => createRateLimit({ perMinute: 0 })).toThrow(RangeError);
  });
});
