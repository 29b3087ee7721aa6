// The /users routes of the Admin API: end-user accounts through the user
// administration service (accounts/user-administration.ts), which applies
// the same rules as the CLI and the pages and records every change with the
// token's actor. Invitations need a mail server (LATCHKEY_SMTP_URL): without
// one, a user is created only with a password.
import { versionOf, type AccountEditInput } from '../../accounts/account-service.ts';
import { createUserAdministration, type UserRecord } from '../../accounts/user-administration.ts';
import type { AccountGrant } from '../../oidc/artifact-repository.ts';
import type { AdminDeps } from '../admin-deps.ts';
import { adminRoute, auditContext, reply, type AdminRoute } from '../admin-route.ts';
import { ADMIN_PREFIX } from '../admin-prefix.ts';
import { decodeCursor, encodeCursor, limitOf } from '../cursor.ts';
import { ifMatchVersion, setETag } from '../etag.ts';

interface UserBody {
  readonly email?: string;
  readonly name?: string | null;
  readonly password?: string;
  readonly disabled?: boolean;
  readonly role?: string;
}

export function userJson(user: UserRecord) {
  return {
    user_id: user.id,
    email: user.email,
    email_verified: user.emailVerified,
    name: user.name,
    disabled: user.disabled,
    role: user.role,
    mfa: { totp: user.mfa.totp, passkeys: user.mfa.passkeys, recovery_codes_left: user.mfa.recoveryCodesLeft },
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

function grantJson(grant: AccountGrant) {
  return {
    grant_id: grant.key,
    client_id: grant.clientId,
    scopes: grant.scopes,
    resources: Object.entries(grant.resources).map(([identifier, scopes]) => ({ identifier, scopes })),
    expires_at: grant.expiresAt?.toISOString() ?? null,
  };
}

export function userRoutes({ services, mail, config }: AdminDeps): AdminRoute[] {
  const users = createUserAdministration({
    accounts: services.accounts,
    artifacts: services.artifacts,
    secondFactors: services.secondFactorSummary,
    secondFactorReset: services.secondFactorReset,
    invitations: services.invitations,
    // Only where the invitation reaches the person: a file outbox (development without SMTP) would not.
    mail: config.mail.smtpUrl !== null ? mail : null,
    audit: services.audit,
  });
  const userId = (params: Readonly<Record<string, string>>) => params.user_id!;

  return [
    adminRoute('GET', '/users', 'users:read', async (ctx) => {
      const { query } = ctx.state.input;
      const limit = limitOf(query);
      const afterId = decodeCursor(query.cursor, 1)?.[0];
      const page = await users.list({ ...(typeof query.email_prefix === 'string' && { emailPrefix: query.email_prefix }), ...(afterId !== undefined && { afterId }), limit });
      reply(ctx, 200, { items: page.users.map(userJson), next_cursor: page.nextAfterId === null ? null : encodeCursor([page.nextAfterId]) });
    }),

    adminRoute('POST', '/users', 'users:write', async (ctx) => {
      const body = ctx.state.input.body as UserBody;
      const { user } = await users.create(
        { email: body.email!, ...(typeof body.name === 'string' && { name: body.name }), ...(body.password !== undefined && { password: body.password }) },
        auditContext(ctx),
      );
      setETag(ctx, versionOf(user));
      ctx.set('Location', `${ADMIN_PREFIX}/users/${encodeURIComponent(user.id)}`);
      reply(ctx, 201, userJson(user));
    }),

    adminRoute('GET', '/users/{user_id}', 'users:read', async (ctx) => {
      const user = await users.get(userId(ctx.state.input.params));
      setETag(ctx, versionOf(user));
      reply(ctx, 200, userJson(user));
    }),

    adminRoute('PATCH', '/users/{user_id}', 'users:write', async (ctx) => {
      const body = ctx.state.input.body as UserBody;
      const changes: AccountEditInput = {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.email !== undefined && { email: body.email }),
        ...(body.disabled !== undefined && { disabled: body.disabled }),
        ...(body.role !== undefined && { role: body.role }),
      };
      const user = await users.edit(userId(ctx.state.input.params), changes, { version: ifMatchVersion(ctx), ...auditContext(ctx) });
      setETag(ctx, versionOf(user));
      reply(ctx, 200, userJson(user));
    }),

    adminRoute('POST', '/users/{user_id}/password', 'users:write', async (ctx) => {
      await users.setPassword(userId(ctx.state.input.params), (ctx.state.input.body as UserBody).password!, auditContext(ctx));
      reply(ctx, 204);
    }),

    adminRoute('POST', '/users/{user_id}/revoke-sessions', 'users:write', async (ctx) => {
      await users.revokeSessions(userId(ctx.state.input.params), auditContext(ctx));
      reply(ctx, 204);
    }),

    adminRoute('POST', '/users/{user_id}/reset-mfa', 'users:write', async (ctx) => {
      await users.resetMfa(userId(ctx.state.input.params), auditContext(ctx));
      reply(ctx, 204);
    }),

    adminRoute('GET', '/users/{user_id}/grants', 'users:read', async (ctx) => {
      const grants = await users.grants(userId(ctx.state.input.params));
      reply(ctx, 200, { items: grants.map(grantJson) });
    }),
  ];
}
