// The account page's passkey endpoints, under /account/passkeys. Registering
// takes two JSON calls from views/static/passkey.js (the browser's WebAuthn
// API has no form): `options` hands out the creation options and their
// challenge (kept server-side, bound to this session: webauthn-ceremony.ts),
// `register` checks the new credential and stores it under the name typed.
// Both carry the page's form token in the JSON body, bound to the session
// like every form of the page, and answer JSON: `{ redirect }` when done,
// `{ error }` (a fixed code the script maps to a message on the page) when
// not. Removing is a plain form post like the page's other forms.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AuditService } from '../audit/audit-service.ts';
import { InvalidInputError } from '../errors.ts';
import { readJson } from '../http/json-body.ts';
import { message } from '../i18n/message.ts';
import type { WebAuthnCeremony } from '../passkeys/webauthn-ceremony.ts';
import { normalisePasskeyName, type PasskeyService } from '../passkeys/passkey-service.ts';
import type { AccountFormTokens } from './account-form-token.ts';
import type { AccountSession, SignedIn } from './account-session.ts';

export interface PasskeyRoutesDeps {
  readonly sessions: Pick<AccountSession, 'current'>;
  readonly formTokens: AccountFormTokens;
  readonly passkeys: Pick<PasskeyService, 'hasRoom' | 'add' | 'remove'>;
  readonly ceremony: Pick<WebAuthnCeremony, 'registrationOptions' | 'verifyRegistration'>;
  readonly audit: Pick<AuditService, 'record'>;
}

/** The codes a JSON answer may carry; the page has a message for each (views/account.eta). */
export type PasskeyErrorCode = 'not_signed_in' | 'invalid_form_token' | 'invalid_request' | 'name' | 'full' | 'failed' | 'taken';

/** Where the session's passkey challenges are bound: never usable by another session. */
export const accountChallengeBinding = (sessionUid: string) => `account:${sessionUid}`;

export function addPasskeyRoutes(
  router: Router,
  deps: PasskeyRoutesDeps & {
    /** The account page's handlers for a form post: who is signed in (or the answer given), and a refusal shown on the page. */
    readonly acceptForm: (ctx: Context) => Promise<{ who: SignedIn; form: URLSearchParams } | undefined>;
    readonly refuse: (ctx: Context, who: SignedIn, status: number) => Promise<void>;
    readonly done: (ctx: Context, what: 'passkey' | 'passkeyRemoved') => void;
  },
): void {
  const { sessions, formTokens, passkeys, ceremony, audit } = deps;

  const answer = (ctx: Context, status: number, body: Record<string, unknown>) => {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };
  const fail = (ctx: Context, status: number, error: PasskeyErrorCode) => answer(ctx, status, { error });

  /** The signed-in person and the JSON body, for a call from the page's script; undefined when the answer is given. */
  async function acceptJson(ctx: Context): Promise<{ who: SignedIn; body: Record<string, unknown> } | undefined> {
    const body = await readJson(ctx);
    const who = await sessions.current(ctx);
    if (!who) return void fail(ctx, 401, 'not_signed_in');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return void fail(ctx, 400, 'invalid_request');
    const fields = body as Record<string, unknown>;
    if (!formTokens.verify(who.sessionUid, fields.token)) return void fail(ctx, 403, 'invalid_form_token');
    return { who, body: fields };
  }

  router.post('/passkeys/options', async (ctx) => {
    const accepted = await acceptJson(ctx);
    if (!accepted) return;
    const { who } = accepted;
    if (!(await passkeys.hasRoom(who.account.id))) return fail(ctx, 409, 'full');
    answer(ctx, 200, { options: await ceremony.registrationOptions(who.account, accountChallengeBinding(who.sessionUid)) });
  });

  router.post('/passkeys/register', async (ctx) => {
    const accepted = await acceptJson(ctx);
    if (!accepted) return;
    const { who, body } = accepted;
    let name: string;
    try {
      name = normalisePasskeyName(body.name);
    } catch (error) {
      if (error instanceof InvalidInputError) return fail(ctx, 400, 'name');
      throw error;
    }
    if (!(await passkeys.hasRoom(who.account.id))) return fail(ctx, 409, 'full');
    const verified = await ceremony.verifyRegistration(who.account.id, accountChallengeBinding(who.sessionUid), body.response);
    if (!verified.ok) {
      ctx.state.log?.info({ accountId: who.account.id, reason: verified.reason }, 'passkey registration refused');
      return fail(ctx, 400, 'failed');
    }
    let added;
    try {
      added = await passkeys.add(who.account.id, name, verified.credential);
    } catch (error) {
      if (error instanceof InvalidInputError) return fail(ctx, 400, 'failed');
      throw error;
    }
    if (!added) return fail(ctx, 409, 'taken');
    audit.record({ type: 'passkey.registered', actor: who.account.id, subject: who.account.id, ip: ctx.ip, details: { passkey: added.id.slice(0, 16) } });
    answer(ctx, 200, { redirect: '/account?done=passkey' });
  });

  router.post('/passkeys/remove', async (ctx) => {
    const accepted = await deps.acceptForm(ctx);
    if (!accepted) return;
    const { who, form } = accepted;
    // Only the account's own passkeys can be found: another account's id is "not found".
    if (!(await passkeys.remove(who.account.id, form.get('passkey')))) return deps.refuse(ctx, who, 404);
    audit.record({ type: 'passkey.removed', actor: who.account.id, subject: who.account.id, ip: ctx.ip, details: { passkey: (form.get('passkey') ?? '').slice(0, 16) } });
    deps.done(ctx, 'passkeyRemoved');
  });
}

/** The page's message for a refused removal. */
export const PASSKEY_NOT_FOUND = message('passkey.account.notFound');
