// The /keys routes of the Admin API: list, rotate and retire the signing
// keys through the key administration service (keys/key-administration.ts),
// which is `latchkey keys` with the token's actor on the audit events.
// Every instance picks a change up through its key-set watcher.
import { InvalidInputError } from '../../errors.ts';
import { createKeyAdministration } from '../../keys/key-administration.ts';
import type { KeyStatus } from '../../keys/key-rotation.ts';
import type { AdminDeps } from '../admin-deps.ts';
import { adminRoute, auditContext, reply, type AdminRoute } from '../admin-route.ts';
import { ProblemError } from '../problem.ts';

const iso = (date: Date | null) => date?.toISOString() ?? null;

export function keyJson(key: KeyStatus) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    signing: key.signing,
    created_at: key.createdAt.toISOString(),
    activates_at: iso(key.activatesAt),
    superseded_at: iso(key.supersededAt),
    retirable_at: iso(key.retirableAt),
    retired_at: iso(key.retiredAt),
  };
}

export function keyRoutes({ services, keys }: AdminDeps): AdminRoute[] {
  const admin = createKeyAdministration({ rotation: keys.rotation, audit: services.audit });
  return [
    adminRoute('GET', '/keys', 'keys:read', async (ctx) => {
      reply(ctx, 200, { items: (await admin.list()).map(keyJson) });
    }),

    adminRoute('POST', '/keys', 'keys:write', async (ctx) => {
      const body = (ctx.state.input.body ?? {}) as { alg?: string; activate_after?: number };
      const key = await admin.rotate({ ...(body.alg !== undefined && { alg: body.alg }), ...(body.activate_after !== undefined && { activateAfterSec: body.activate_after }) }, auditContext(ctx));
      reply(ctx, 201, keyJson(key));
    }),

    adminRoute('POST', '/keys/{kid}/retire', 'keys:write', async (ctx) => {
      const retiring = admin.retire(ctx.state.input.params.kid!, { force: ctx.state.input.query.force === true, ...auditContext(ctx) });
      // The one input error retire has is a key retired already: the key's state, not the request, is at odds.
      const { key, forced } = await retiring.catch((error: unknown) => {
        throw error instanceof InvalidInputError ? new ProblemError(409, 'conflict', error.message) : error;
      });
      reply(ctx, 200, { ...keyJson(key), forced });
    }),
  ];
}
