// Read-modify-write against a row's version, for the services whose rows the
// Admin API changes (clients, resources). Each attempt reads the row, checks
// the version the caller saw (an If-Match) and writes only while the row is
// unchanged (a conditional update in the database), so two instances can
// never overwrite each other. With a version the first lost race is final
// (412); without one the change is simply applied again to the newer row.
import { PreconditionFailedError } from './errors.ts';

/** Conditions on a change: `version` is the one read before (an If-Match); absent means unconditional. */
export interface ChangeOptions {
  readonly version?: string | undefined;
}

const UNCONDITIONAL_ATTEMPTS = 3;

/**
 * `attempt` resolves to the result, or undefined when its conditional write
 * matched no row; `lost` says why (gone: NotFoundError; changed: 412).
 */
export async function compareAndSwap<T>(options: ChangeOptions, attempt: () => Promise<T | undefined>, lost: () => Promise<Error>): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    const result = await attempt();
    if (result !== undefined) return result;
    const error = await lost();
    if (options.version !== undefined || tries >= UNCONDITIONAL_ATTEMPTS || !(error instanceof PreconditionFailedError)) throw error;
  }
}
