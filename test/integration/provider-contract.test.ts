// The oidc-provider internals src/oidc/provider-internals.ts relies on, and
// the behaviour of oidc-provider the single-use wrappers assume, checked
// against the installed version: an upgrade that breaks one fails here.
// The end-to-end behaviour (single use, the reuse grace, revocation) is in
// single-use.test.ts; this file names the contracts one by one.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Koa from 'koa';
import Provider, { errors } from 'oidc-provider';
import * as grants from 'oidc-provider/lib/actions/grants/index.js';
import * as grantHelpers from 'oidc-provider/lib/helpers/grants.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { afterAll, describe, expect, it } from 'vitest';
import { clientSecretMatches, hashClientSecret } from '../../src/clients/client-secret.ts';
import { GrantReuseDetected } from '../../src/oidc/grant-reuse-detected.ts';
import { createProviderHolder } from '../../src/oidc/provider-holder.ts';
import { builtInGrant, compareClientSecretsWith, deviceCodeProblem, deviceFormXsrf, revokeGrant } from '../../src/oidc/provider-internals.ts';
import { paceDevicePolling } from '../../src/oidc/device-polling.ts';
import * as userCodeForm from 'oidc-provider/lib/helpers/user_code_form.js';
import * as reRenderErrors from 'oidc-provider/lib/helpers/re_render_errors.js';
import { createRefreshRetries } from '../../src/oidc/refresh-retries.ts';
import { redeemGrantsOnce } from '../../src/oidc/single-use-grants.ts';

const LIB = path.resolve('node_modules/oidc-provider/lib');
const source = (file: string) => readFileSync(path.join(LIB, file), 'utf8');

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? jsFiles(full) : entry.name.endsWith('.js') ? [full] : [];
  });
}

/** A provider configured as Latchkey's is in what the grant registration depends on: resource indicators on, RAR off. */
function providerLikeLatchkeys() {
  return new Provider('http://localhost:3000', {
    features: {
      resourceIndicators: { enabled: true, getResourceServerInfo: async () => ({ scope: 'x', accessTokenFormat: 'jwt' }) },
    },
    grantTypes: ['authorization_code', 'refresh_token'],
  } as never);
}

const servers: http.Server[] = [];
afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

/** Serves a Koa app (a Provider is one) on an ephemeral port. */
async function serve(app: Koa | Provider): Promise<string> {
  const server = http.createServer(app.callback());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Internals {
  grantTypeHandlers: Map<string, unknown>;
  grantTypeParams: Map<string | undefined, Set<string>>;
  grantTypeDupes: Map<string, Set<string>>;
}

describe('oidc-provider internals (provider-internals.ts)', () => {
  it('exports the built-in grants as { handler, parameters } and the grant helpers their handlers destructure', () => {
    expect(typeof grants.authorization_code.handler).toBe('function');
    expect(typeof grants.refresh_token.handler).toBe('function');
    expect([...grants.authorization_code.parameters].sort()).toEqual(['code', 'code_verifier', 'redirect_uri']);
    expect([...grants.refresh_token.parameters].sort()).toEqual(['refresh_token', 'scope']);
    for (const [file, names] of [
      ['actions/grants/authorization_code.js', ['checkDpopRequired', 'checkMtlsCert', 'validateDpop', 'findGrantSource', 'consumeGrantSource', 'validateGrant']],
      ['actions/grants/refresh_token.js', ['checkDpopReplay', 'checkDpopRequired', 'validateDpop', 'validateGrant', 'applyAuthorizationDetails', 'buildTokenResponse']],
    ] as const) {
      for (const name of names) {
        expect(source(file), `${file} takes ${name} from its helpers`).toMatch(new RegExp(`\\b${name},`));
        expect(typeof (grantHelpers as Record<string, unknown>)[name], `lib/helpers/grants.js exports ${name}`).toBe('function');
      }
    }
    // initialize_app.js binds exactly these helpers to the provider and passes them as the second argument.
    expect(source('helpers/initialize_app.js')).toContain("import * as grantHelpers from './grants.js';");
    expect(source('helpers/initialize_app.js')).toContain('handler.bind(undefined, this, boundGrantHelpers)');
  });

  it('re-registers a wrapped grant with exactly the parameters and duplicates oidc-provider registered for it', () => {
    const provider = providerLikeLatchkeys();
    const internals = instance(provider) as unknown as Internals;
    const before = ['authorization_code', 'refresh_token'].map((name) => [internals.grantTypeHandlers.get(name), [...internals.grantTypeParams.get(name)!].sort(), [...(internals.grantTypeDupes.get(name) ?? [])]]);
    redeemGrantsOnce(provider, { retries: createRefreshRetries({ artifacts: { findSealedForPredecessor: async () => [] }, graceSeconds: 0 }) });
    const after = ['authorization_code', 'refresh_token'].map((name) => [internals.grantTypeHandlers.get(name), [...internals.grantTypeParams.get(name)!].sort(), [...(internals.grantTypeDupes.get(name) ?? [])]]);
    for (let i = 0; i < 2; i++) {
      expect(after[i]![0], 'the handler was replaced').not.toBe(before[i]![0]);
      expect(after[i]!.slice(1)).toEqual(before[i]!.slice(1));
    }
    expect(builtInGrant(provider, 'refresh_token').parameters).toEqual(new Set(['refresh_token', 'scope', 'resource']));
  });

  it('exports the device_code grant under its URN, and paceDevicePolling re-registers it with the same parameters and duplicates', () => {
    expect(grants.device_code.grantType).toBe('urn:ietf:params:oauth:grant-type:device_code');
    expect([...grants.device_code.parameters]).toEqual(['device_code']);
    for (const name of ['checkDpopRequired', 'checkMtlsCert', 'validateDpop', 'findGrantSource', 'consumeGrantSource', 'validateGrant']) {
      expect(source('actions/grants/device_code.js'), `device_code.js takes ${name} from its helpers`).toMatch(new RegExp(`\\b${name},`));
    }
    // It answers a pending code with AuthorizationPending, the class device-polling.ts counts a poll by.
    expect(source('actions/grants/device_code.js')).toContain('throw new AuthorizationPending();');
    const provider = new Provider('http://localhost:3000', {
      features: { deviceFlow: { enabled: true }, resourceIndicators: { enabled: true, getResourceServerInfo: async () => ({ scope: 'x', accessTokenFormat: 'jwt' }) } },
    } as never);
    const internals = instance(provider) as unknown as Internals;
    const urn = 'urn:ietf:params:oauth:grant-type:device_code';
    const before = [internals.grantTypeHandlers.get(urn), [...internals.grantTypeParams.get(urn)!].sort(), [...(internals.grantTypeDupes.get(urn) ?? [])]];
    paceDevicePolling(provider, { throttle: { check: async () => ({ allowed: true, retryAfter: 0, blocked: [], counted: [] }), fail: async () => 0 }, keys: { devicePoll: (code) => ({ scope: 'device_poll', id: code }) } });
    const after = [internals.grantTypeHandlers.get(urn), [...internals.grantTypeParams.get(urn)!].sort(), [...(internals.grantTypeDupes.get(urn) ?? [])]];
    expect(after[0]).not.toBe(before[0]);
    expect(after.slice(1)).toEqual(before.slice(1));
  });

  it('hands the device pages their xsrf token in one hidden input, and tells a refused code apart by class', () => {
    const xsrf = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718';
    expect(deviceFormXsrf(userCodeForm.input('/device', xsrf, undefined, 'base-20'))).toBe(xsrf);
    expect(deviceFormXsrf(userCodeForm.confirm('/device', xsrf, 'BCDF-GHJK'))).toBe(xsrf);
    // lib/shared/xsrf.js makes the token as hex.
    expect(source('shared/xsrf.js')).toContain("crypto.randomBytes(24).toString('hex')");
    expect(deviceCodeProblem(new reRenderErrors.NotFoundError('X'))).toBe('wrong_code');
    expect(deviceCodeProblem(new reRenderErrors.ExpiredError('X'))).toBe('expired');
    expect(deviceCodeProblem(new reRenderErrors.AlreadyUsedError('X'))).toBe('used');
    expect(deviceCodeProblem(new reRenderErrors.NoCodeError())).toBe('no_code');
    expect(deviceCodeProblem(new reRenderErrors.AbortedError())).toBe('aborted');
    expect(deviceCodeProblem(new errors.InvalidRequest('xsrf token invalid'))).toBeUndefined();
  });

  it('refreshes the token named by ctx.oidc.params.refresh_token, saving a successor in that request only when rotateRefreshToken(ctx) says so', () => {
    // A retry inside the reuse grace is answered by refreshing the successor
    // without rotating it (single-use-grants.ts), and the successor's INSERT
    // carries its seal for the token the request presented (refresh-retries.ts).
    const refresh = source('actions/grants/refresh_token.js');
    expect(refresh).toContain('let refreshTokenValue = ctx.oidc.params.refresh_token;');
    expect(refresh).toMatch(/typeof rotateRefreshToken === 'function'\s*&& boolean\(await rotateRefreshToken\(ctx\), 'rotateRefreshToken'\)/);
    expect(refresh).toMatch(/await refreshToken\.consume\(\);[\s\S]*refreshTokenValue = await refreshToken\.save\(\);\n  \}/);
    expect(refresh).toContain('refreshToken: refreshTokenValue,');
  });

  it("revoke(ctx, grantId) is the one oidc-provider's own reuse checks call, and emits grant.revoked", () => {
    expect(source('actions/grants/refresh_token.js')).toMatch(/refreshToken\.destroy\(\),\s*revoke\(ctx, refreshToken\.grantId\)/);
    expect(source('helpers/grant_source.js')).toContain('await revoke(ctx, source.grantId);');
    expect(source('helpers/revoke.js')).toContain("ctx.oidc.provider.emit('grant.revoked', ctx, grantId);");
    expect(typeof revokeGrant).toBe('function');
  });
});

describe('client secrets compared as digests (compareClientSecretsWith)', () => {
  it('is the one comparison oidc-provider makes, for client_secret_basic and client_secret_post, on the Client prototype', () => {
    const callers = jsFiles(LIB).filter((file) => readFileSync(file, 'utf8').includes('compareClientSecret(')).map((file) => path.relative(LIB, file)).sort();
    expect(callers).toEqual(['models/client.js', 'shared/client_auth.js']);
    expect(source('shared/client_auth.js')).toMatch(
      /case 'client_secret_basic':\s*case 'client_secret_post': \{[^}]*const matches = await ctx\.oidc\.client\.compareClientSecret\(clientSecret\);\s*if \(!matches\) \{\s*throw new InvalidClientAuth\(/,
    );
    expect(source('models/client.js')).toMatch(/\n {4}compareClientSecret\(actual\) \{\n {6}return constantEquals\(this\.clientSecret, actual, 1000\);/);
  });

  it('is called with the presented secret and the stored digest, and decides the answer (Basic and post, over HTTP)', async () => {
    const secret = 'a presented secret, kept only as its digest';
    const provider = new Provider('http://localhost:3000', {
      clients: [{ client_id: 'svc', client_secret: hashClientSecret(secret), grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }],
      features: { clientCredentials: { enabled: true } },
    });
    const seen: [string, string][] = [];
    compareClientSecretsWith(provider, (presented, stored) => {
      seen.push([presented, stored]);
      return clientSecretMatches(presented, stored);
    });
    const url = await serve(provider);
    const token = async (form: Record<string, string>, authorization?: string) => {
      const response = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization && { authorization }) },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...form }),
      });
      return { status: response.status, error: ((await response.json()) as { error?: string }).error };
    };
    const basic = (password: string) => `Basic ${Buffer.from(`svc:${encodeURIComponent(password)}`).toString('base64')}`;

    expect(await token({}, basic(secret))).toEqual({ status: 200, error: undefined });
    expect(await token({ client_id: 'svc', client_secret: secret })).toEqual({ status: 200, error: undefined });
    // The digest itself is not the secret: only what hashes to it is.
    expect(await token({}, basic(hashClientSecret(secret)))).toEqual({ status: 401, error: 'invalid_client' });
    expect(await token({ client_id: 'svc', client_secret: 'wrong' })).toEqual({ status: 401, error: 'invalid_client' });
    expect(seen).toEqual([secret, secret, hashClientSecret(secret), 'wrong'].map((presented) => [presented, hashClientSecret(secret)]));
  });
});

describe('the mount (provider-holder.ts)', () => {
  it("runs the provider, mounted with koa-mount as its docs show, on the host app's context: its state, its cookie keys", async () => {
    const provider = new Provider('http://localhost:3000', { cookies: { keys: ['host and provider share this key'] } });
    const seen: unknown[] = [];
    provider.use(async (ctx, next) => {
      seen.push(ctx.state.requestId);
      await next();
    });
    const host = new Koa();
    host.keys = provider.keys;
    host.use(async (ctx, next) => {
      ctx.state.requestId = 'req-1';
      await next();
      ctx.set('x-host-saw', String(ctx.status));
    });
    host.use(createProviderHolder(provider).middleware);
    const url = await serve(host);

    const discovery = await fetch(`${url}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(((await discovery.json()) as { issuer: string }).issuer).toBe('http://localhost:3000');
    expect(discovery.headers.get('x-host-saw')).toBe('200');
    expect(seen).toEqual(['req-1']);
    // Provider is a Koa app whose `middleware` koa-mount composes, and keys it was configured with.
    expect(provider).toBeInstanceOf(Koa);
    expect(Array.isArray(provider.middleware)).toBe(true);
    expect(provider.keys).toEqual(['host and provider share this key']);
  });
});

describe('oidc-provider behaviour the client-auth throttle reads (client-auth-id.ts)', () => {
  it('has parsed the client auth parameters into ctx.oidc.params, and set ctx.oidc.client before it checks the credentials', () => {
    const auth = source('shared/client_auth.js');
    expect(auth).toMatch(/const authParams = new Set\(\['client_id'\]\);[\s\S]*authParams\.add\('client_assertion'\);/);
    expect(auth.indexOf("ctx.oidc.entity('Client', client);")).toBeGreaterThan(-1);
    expect(auth.indexOf("ctx.oidc.entity('Client', client);")).toBeLessThan(auth.indexOf('await ctx.oidc.client.compareClientSecret(clientSecret)'));
    expect(auth.indexOf("ctx.oidc.entity('Client', client);")).toBeLessThan(auth.indexOf('await jwtClientAuth(ctx, ctx.oidc.client.asymmetricKeyStore'));
    // Every route the throttle watches assembles its params with the client auth params, then authenticates.
    for (const file of ['actions/token.js', 'actions/introspection.js', 'actions/revocation.js', 'actions/authorization/index.js']) {
      expect(source(file), file).toMatch(/getClientAuthParams/);
    }
    // A 401 on these routes is InvalidClientAuth, and only that: the throttle reads the status.
    expect(new errors.InvalidClientAuth('x')).toMatchObject({ status: 401, error: 'invalid_client' });
  });
});

describe('oidc-provider behaviour unauthorized-client.ts recognises', () => {
  it("raises invalid_request on the token route when the client it authenticated may not use the grant type, after authenticating it", () => {
    const token = source('actions/token.js');
    expect(token).toMatch(/if \(!ctx\.oidc\.client\.grantTypeAllowed\(ctx\.oidc\.params\.grant_type\)\) \{\s*throw new InvalidRequest\(/);
    expect(token.indexOf('...clientAuth,')).toBeGreaterThan(-1);
    expect(token.indexOf('...clientAuth,')).toBeLessThan(token.indexOf('async function allowedGrantTypeCheck'));
    // Before it, only a missing or repeated grant_type is invalid_request: neither is a single string.
    expect(token.indexOf("rejectDupes.bind(undefined, { only: grantTypeSet })")).toBeLessThan(token.indexOf('async function allowedGrantTypeCheck'));
    expect(token.indexOf("presence(ctx, 'grant_type');")).toBeLessThan(token.indexOf('async function allowedGrantTypeCheck'));
    expect(new errors.InvalidRequest('x')).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(source('models/client.js')).toMatch(/grantTypeAllowed\(type\) \{\s*return this\.grantTypes\.includes\(type\);/);
  });
});

describe('oidc-provider behaviour the single-use wrappers and the adapter assume', () => {
  it('consumes a code or refresh token through adapter.consume, after every other check of the request', () => {
    const refresh = source('actions/grants/refresh_token.js');
    expect(refresh.indexOf('await refreshToken.consume();')).toBeGreaterThan(refresh.indexOf("ctx.oidc.entity('RefreshToken', refreshToken);"));
    expect(refresh.indexOf('await refreshToken.consume();')).toBeGreaterThan(refresh.indexOf('checkAccountMismatch(refreshToken, grant);'));
    const code = source('actions/grants/authorization_code.js');
    expect(code.indexOf("await consumeGrantSource(ctx, code, 'authorization code');")).toBeGreaterThan(code.indexOf('checkPKCE('));
    for (const model of ['refresh_token.js', 'authorization_code.js']) expect(source(`models/${model}`)).toContain('await this.adapter.consume(this.jti);');
    // The finds and the consume happen inside the handler's own awaits, so the adapter sees the
    // wrapper's redemption scope through Provider.ctx (redemption-scope.ts); single-use.test.ts shows it end to end.
    expect(source('actions/grants/refresh_token.js')).toMatch(/let refreshToken = await RefreshToken\.find\(refreshTokenValue/);
    expect(source('actions/grants/authorization_code.js')).toMatch(/await findGrantSource\(/);
  });

  it('only reads a Session it found by uid (which comes back without its id): it never saves one', () => {
    const callers = jsFiles(LIB).filter((file) => readFileSync(file, 'utf8').includes('Session.findByUid(')).map((file) => path.relative(LIB, file)).sort();
    expect(callers).toEqual(['models/token_helpers.js', 'provider.js']);
    expect(source('models/token_helpers.js')).toMatch(/const session = await provider\.Session\.findByUid\(token\.sessionUid\);\s*if \(!session\s*\|\| token\.accountId !== session\.accountId\s*\|\| token\.grantId !== session\.grantIdFor\(token\.clientId\)\)/);
    expect(source('provider.js')).toMatch(/const session = await this\.Session\.findByUid\(interaction\.session\.uid\);\s*if \(!session\) \{[\s\S]{0,120}\}\s*if \(interaction\.session\.accountId !== session\.accountId\)/);
  });

  it("never reads an interaction's session.cookie (the adapter seals it)", () => {
    const readers = jsFiles(LIB).filter((file) => /session\.cookie\b|\.cookie\b(?!s)/.test(readFileSync(file, 'utf8').replace(/cookie: session\.jti/g, ''))).map((file) => path.relative(LIB, file));
    expect(readers).toEqual([]);
  });

  it('renders the reuse error, a subclass of its InvalidGrant, as 400 invalid_grant with its own wording', () => {
    const error = new GrantReuseDetected({ type: 'refresh_token.reuse_detected', grantId: 'g', accountId: 'a' });
    expect(error).toBeInstanceOf(errors.InvalidGrant);
    expect({ status: error.status, error: error.error, expose: error.expose, detail: error.error_detail }).toEqual({ status: 400, error: 'invalid_grant', expose: true, detail: 'refresh token already used' });
    expect(source('actions/grants/refresh_token.js')).toContain("throw new InvalidGrant('refresh token already used');");
    expect(source('helpers/grant_source.js')).toContain('throw new InvalidGrant(`${label} already consumed`);');
  });
});

describe('oidc-provider behaviour the account page reads (account/account-session.ts)', () => {
  it("Session.get(ctx) on the host's Koa context finds the session its signed cookie names, under the shared cookie keys", async () => {
    const keys = ['contract-cookie-key'];
    const provider = new Provider('http://localhost:3000', { cookies: { keys } } as never);
    const host = new Koa();
    host.keys = keys;
    host.use(async (ctx) => {
      if (ctx.path === '/sign-in') {
        // The constructor takes a payload (session.js); the typings say it takes none.
        const session = new (provider.Session as unknown as new (payload: object) => InstanceType<typeof provider.Session> & { id: string })({ accountId: 'account-1' });
        await session.save(60);
        ctx.cookies.set(provider.cookieName('session'), session.id, { signed: true, httpOnly: true });
        ctx.body = 'ok';
        return;
      }
      const session = await provider.Session.get(ctx as never);
      ctx.body = { accountId: session.accountId ?? null, uid: typeof session.uid };
    });
    const origin = await serve(host);
    const signIn = await fetch(`${origin}/sign-in`);
    const cookie = signIn.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    expect(await (await fetch(`${origin}/who`, { headers: { cookie } })).json()).toEqual({ accountId: 'account-1', uid: 'string' });
    expect(await (await fetch(`${origin}/who`)).json()).toEqual({ accountId: null, uid: 'string' });
  });
});
