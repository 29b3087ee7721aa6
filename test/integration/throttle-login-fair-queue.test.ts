// A real sign-in gets through while strangers flood the login page from many
// networks. Twenty IPv6 /64s (X-Forwarded-For behind a trusted proxy, a fresh
// host address for every request) each run six attackers in parallel: fresh
// sign-in request, wrong password, again, 30 posts per /64 at most, a quarter
// of them at the owner's account, the rest sprayed at unknown emails. Password
// checks are bounded to one at a time with 24 waiting (more places than
// there are attacking /64s), and made slow (argon2id 64 MiB × 2, tens of ms
// each), so the flood keeps the queue full. Once it is full
// (the first 503 "busy"), the owner signs in through the whole flow from the
// browser they used before, and must get in at the first try. Counts and the
// owner's latency are printed; no assertion is on time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelyingParty, expectPage, expectRedirect, heading, signInAndAllow, UserAgent, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const OWNER = 'owner@example.test';
const CALLBACK = 'https://app.example.test/cb';
const SOURCES = 20;
const WORKERS_PER_SOURCE = 6;
const POSTS_PER_SOURCE = 30;

let server: TestServer;
let client: { id: string; secret: string };

beforeAll(async () => {
  server = await startTestServer({
    env: {
      LATCHKEY_TRUST_PROXY: 'true',
      LATCHKEY_PASSWORD_HASH_CONCURRENCY: '1',
      LATCHKEY_PASSWORD_HASH_QUEUE: '24',
      LATCHKEY_ARGON2_MEMORY_KIB: '65536',
      LATCHKEY_ARGON2_PASSES: '2',
    },
  });
  await server.services.accounts.create({ email: OWNER, password: PASSWORD });
  const created = await server.services.clients.create({ name: 'Flooded app', redirectUris: [CALLBACK] });
  client = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

const relyingParty = () => createRelyingParty({ issuer: server.issuer, clientId: client.id, clientSecret: client.secret, redirectUri: CALLBACK });

const tally = (statuses: number[]) => Object.fromEntries([...new Set(statuses)].sort().map((status) => [status, statuses.filter((s) => s === status).length]));

describe('password checks shared fairly among sources', () => {
  it(`lets the owner sign in at the first try while ${SOURCES} /64s flood the login page`, { timeout: 60_000 }, async () => {
    // The owner's browser has signed in before (it holds the device cookie).
    const owner = await relyingParty();
    await signInAndAllow(owner, { email: OWNER, password: PASSWORD });

    const attacker = await relyingParty();
    const origin = new URL(server.issuer).origin;
    let stop = false;
    let markFull!: () => void;
    const queueFull = new Promise<void>((resolve) => (markFull = resolve));
    const pages: number[] = [];
    const posts: number[] = [];
    let host = 0;
    const sent = new Array<number>(SOURCES).fill(0);
    const work = async (source: number, worker: number) => {
      while (!stop && sent[source]! < POSTS_PER_SOURCE) {
        const n = sent[source]!++;
        // Another host of the same /64 every time: the /64 is what is counted.
        const headers = { 'x-forwarded-for': `2001:db8:${source.toString(16)}:0:${worker.toString(16)}::${(++host).toString(16)}` };
        const browser = new UserAgent(origin);
        const page = await browser.open((await attacker.authorizationRequest()).url, { headers });
        pages.push(expectPage(page).status);
        if (heading(page) !== 'Sign in') continue;
        const email = n % 4 === 0 ? OWNER : `spray-${source}-${n}@example.test`;
        const answer = expectPage(await browser.submit(page, { email, password: 'not the password' }, 'Sign in', { headers }));
        posts.push(answer.status);
        if (answer.status === 503) markFull();
      }
    };
    const flood = Promise.all(Array.from({ length: SOURCES * WORKERS_PER_SOURCE }, (_, index) => work(index % SOURCES, Math.floor(index / SOURCES))));

    // If the queue never fills, the flood ends and the assertions below say so.
    await Promise.race([queueFull, flood]);
    const postsBefore = posts.length;
    const started = performance.now();
    const request = await owner.authorizationRequest({ prompt: 'login' });
    const login = await owner.browser.open(request.url);
    expect(heading(login)).toBe('Sign in');
    const posted = performance.now();
    const signedIn: Step = await owner.browser.submit(login, { email: OWNER, password: PASSWORD }, 'Sign in');
    const loginMs = performance.now() - posted;
    const postsDuring = posts.length - postsBefore;
    if (signedIn.kind === 'page' && !heading(signedIn)?.endsWith('wants to access your account')) {
      throw new Error(`the owner's sign-in was answered ${signedIn.status}: ${/<p class="error"[^>]*>([^<]*)/.exec(signedIn.html)?.[1] ?? heading(signedIn)}`);
    }
    const callback = signedIn.kind === 'redirect' ? signedIn.url : expectRedirect(await owner.browser.submit(signedIn, {}, 'Allow'));
    const tokens = await owner.exchange(callback, request);
    const flowMs = performance.now() - started;
    stop = true;
    await flood;

    console.info(
      `sign-in flood: ${pages.length} attacker sign-in requests (pages ${JSON.stringify(tally(pages))}), ${posts.length} attacker password posts ${JSON.stringify(tally(posts))}; ` +
        `${postsDuring} attacker posts answered while the owner's was in flight; owner's login post ${loginMs.toFixed(0)} ms, whole flow ${flowMs.toFixed(0)} ms`,
    );
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(posts.filter((status) => status === 503).length).toBeGreaterThan(0);
    expect(posts.every((status) => [400, 429, 503].includes(status))).toBe(true);
  });
});
