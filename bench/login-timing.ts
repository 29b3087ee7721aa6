// Measures whether a sign-in's response time tells a known email from an
// unknown one: wrong-password sign-ins for accounts hashed with the
// configured argon2 parameters and with stronger ones (as after an operator
// lowered LATCHKEY_ARGON2_*), against sign-ins with emails no account has,
// interleaved, over HTTP against a real server. Prints the median and
// quartiles of each, in milliseconds. Not a test: timings depend on the machine.
//
//   node --import tsx bench/login-timing.ts [--attempts 40]
//   DATABASE_URL=postgresql://… node --import tsx bench/login-timing.ts
import { parseArgs } from 'node:util';
import { createPasswordHasher, type PasswordHashParams } from '../src/accounts/password-hasher.ts';
import { expectPage, parseForms, UserAgent } from '../test/helpers/rp.ts';
import { startTestServer } from '../test/helpers/server.ts';

const { values } = parseArgs({ options: { attempts: { type: 'string', default: '40' } } });
const attempts = Number(values.attempts);
const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';
/** OWASP's 19 MiB × 2: the same defense as the default 7 MiB × 5, about twice the CPU. */
const STRONGER: PasswordHashParams = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

const server = await startTestServer({ env: { LATCHKEY_TRUST_PROXY: 'true' } });
try {
  const { accounts, clients } = server.services;
  const client = await clients.create({ name: 'Timing', redirectUris: [CALLBACK] });
  const stronger = createPasswordHasher(STRONGER);
  // One account per attempt: each takes one wrong password, so no brute-force limit is reached.
  const configured: string[] = [];
  const strong: string[] = [];
  for (let i = 0; i < attempts; i++) {
    configured.push((await accounts.create({ email: `configured-${i}@example.test`, password: PASSWORD })).email);
    const account = await accounts.create({ email: `strong-${i}@example.test`, password: PASSWORD });
    await server.database.db.prisma.account.update({ where: { id: account.id }, data: { passwordHash: await stronger.hash(PASSWORD) } });
    strong.push(account.email);
  }

  let address = 0;
  /** One wrong-password sign-in from an address of its own; the POST's time in ms. */
  async function signIn(email: string): Promise<number> {
    const browser = new UserAgent(new URL(server.issuer).origin);
    const query = new URLSearchParams({
      client_id: client.client.clientId,
      response_type: 'code',
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const login = expectPage(await browser.open(`/auth?${query}`));
    const [form] = parseForms(login.html);
    address += 1;
    const body = new URLSearchParams({ token: form!.fields.token!, email, password: 'not the password' });
    const started = process.hrtime.bigint();
    const refused = expectPage(await browser.post(new URL(form!.action, login.url), body, { 'x-forwarded-for': `10.9.${address >> 8}.${address & 255}` }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (refused.status !== 400) throw new Error(`expected the refused login page, got ${refused.status}`);
    return ms;
  }

  // Warm-up (JIT, the decoy hash, connections), not counted.
  for (let i = 0; i < 5; i++) await signIn(`warm-${i}@nowhere.test`);
  const times = { configured: [] as number[], stronger: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < attempts; i++) {
    times.configured.push(await signIn(configured[i]!));
    times.stronger.push(await signIn(strong[i]!));
    times.unknown.push(await signIn(`nobody-${i}@nowhere.test`));
  }

  const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const summary = Object.fromEntries(
    Object.entries(times).map(([name, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return [name, { median: +quantile(sorted, 0.5).toFixed(2), p25: +quantile(sorted, 0.25).toFixed(2), p75: +quantile(sorted, 0.75).toFixed(2) }];
    }),
  );
  console.log(JSON.stringify({ dialect: server.database.url.startsWith('postgres') ? 'postgres' : 'sqlite', attempts, configured: server.config.passwordHashing.argon2, stronger: STRONGER, ms: summary }, null, 2));
} finally {
  await server.stop();
}
