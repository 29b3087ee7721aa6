// Wraps Latchkey's storage adapter factory so every write oidc-provider makes
// is checked against the invariants a correct adapter and configuration keep,
// as node-oidc-provider's own test adapter does: the payload is of the model
// it is stored as, its expiry is the one the configuration asks for, nothing
// is saved again once consumed, and only artifacts that exist are consumed
// or destroyed. A broken invariant throws (the request fails) and is recorded,
// so the test server's stop() fails the test even if the request's failure
// was absorbed somewhere.
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';
import type { TtlConfig } from '../../src/config/config.ts';

export class AdapterInvariantError extends Error {
  readonly code = 'adapter_invariant';
  override readonly name = 'AdapterInvariantError';
}

export interface AdapterChecks {
  /** Wraps the factory; pass as startLatchkey's `wrapAdapter`. */
  readonly wrap: (factory: AdapterFactory) => AdapterFactory;
  /** Every broken invariant seen so far, in order. */
  readonly violations: readonly string[];
}

/**
 * The lifetime (seconds) the provider configuration gives each model with a
 * fixed TTL (src/oidc/provider.ts `ttl`). AccessToken and ClientCredentials
 * are left out: a resource may set its own, so for them only the expiry's
 * agreement with the payload's `exp` is checked.
 */
function fixedTtls(ttl: TtlConfig): Readonly<Record<string, number>> {
  return {
    AuthorizationCode: ttl.authorizationCode,
    RefreshToken: ttl.refreshToken,
    Session: ttl.session,
    Interaction: ttl.interaction,
    Grant: ttl.grant,
  };
}

/**
 * Seconds of slack between the expiry oidc-provider computes and the clock
 * read here: its `exp` and `expiresIn` are whole seconds taken a moment apart.
 */
const CLOCK_SLACK = 2;

export function createAdapterChecks(ttl: TtlConfig): AdapterChecks {
  const violations: string[] = [];
  const ttls = fixedTtls(ttl);
  // Shared by every adapter this wraps (instances in one test share a
  // database): ids seen to exist (written or found), and ids consumed.
  const known = new Set<string>();
  const consumed = new Set<string>();

  function fail(model: string, message: string): never {
    const text = `${model}: ${message}`;
    violations.push(text);
    throw new AdapterInvariantError(text);
  }

  function checkUpsert(model: string, id: string, payload: AdapterPayload, expiresIn: number | undefined): void {
    const key = `${model} ${id}`;
    if (consumed.has(key)) fail(model, `upsert of ${id} after it was consumed`);
    if (typeof payload.kind === 'string' && payload.kind !== model) fail(model, `upsert of a ${payload.kind} payload`);
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) fail(model, `upsert with expiresIn ${String(expiresIn)}`);
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp === 'number' && Math.abs(payload.exp - now - expiresIn) > CLOCK_SLACK) {
      fail(model, `expiresIn ${expiresIn} s, but the payload's exp is ${payload.exp - now} s away`);
    }
    const configured = ttls[model];
    if (configured !== undefined && SLIDING.has(model)) {
      // Every save starts the lifetime again (an idle timeout): each write lives its full TTL.
      if (Math.abs(expiresIn - configured) > CLOCK_SLACK) fail(model, `expiresIn ${expiresIn} s, not the configured TTL of ${configured} s`);
    } else if (configured !== undefined) {
      if (expiresIn > configured + CLOCK_SLACK) fail(model, `expiresIn ${expiresIn} s, past the configured TTL of ${configured} s`);
      // A first write lives exactly its TTL; a later one (a grant saved again) what is left of it.
      const lifetime = typeof payload.exp === 'number' && typeof payload.iat === 'number' ? payload.exp - payload.iat : undefined;
      if (lifetime !== undefined && lifetime > configured) fail(model, `lives ${lifetime} s (exp - iat), past the configured TTL of ${configured} s`);
      if (!known.has(key) && lifetime !== undefined && lifetime !== configured && !CAPPED.has(model)) {
        fail(model, `first written to live ${lifetime} s (exp - iat), not the configured TTL of ${configured} s`);
      }
    }
    known.add(key);
  }

  function checkExists(model: string, operation: string, id: string): void {
    if (!known.has(`${model} ${id}`)) fail(model, `${operation} of ${id}, which was never written or found`);
  }

  function wrapAdapter(model: string, inner: Adapter): Adapter {
    const seen = <T extends AdapterPayload | undefined | void>(id: string | undefined, payload: T): T => {
      if (payload && id !== undefined) known.add(`${model} ${id}`);
      return payload;
    };
    return {
      async upsert(id, payload, expiresIn) {
        checkUpsert(model, id, payload, expiresIn);
        return inner.upsert(id, payload, expiresIn);
      },
      async find(id) {
        return seen(id, await inner.find(id));
      },
      async findByUid(uid) {
        const payload = await inner.findByUid(uid);
        return seen(typeof payload?.jti === 'string' ? payload.jti : undefined, payload);
      },
      async findByUserCode(userCode) {
        const payload = await inner.findByUserCode(userCode);
        return seen(typeof payload?.jti === 'string' ? payload.jti : undefined, payload);
      },
      async consume(id) {
        checkExists(model, 'consume', id);
        await inner.consume(id);
        consumed.add(`${model} ${id}`);
      },
      async destroy(id) {
        checkExists(model, 'destroy', id);
        return inner.destroy(id);
      },
      async revokeByGrantId(grantId) {
        return inner.revokeByGrantId(grantId);
      },
    };
  }

  return {
    violations,
    wrap: (factory) => (model) => wrapAdapter(model, factory(model)),
  };
}

/**
 * Models whose first write may live less than their TTL: oidc-provider caps
 * a refresh token that expires with its session at the session's end.
 */
const CAPPED = new Set(['RefreshToken']);

/**
 * Models whose expiry restarts on every save: oidc-provider sets a session's
 * exp to now + TTL each time it is saved, keeping its iat (seen in the
 * integration runs: a session saved a second after it began lives TTL + 1 s).
 */
const SLIDING = new Set(['Session']);
