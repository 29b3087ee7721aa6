// Notices, in every running instance, that the key set changed: a key rotated
// in or retired by another process, or a published key reaching its
// activatesAt. Every few seconds it reads the keys' timelines (kid, alg,
// state, dates: no key material, a handful of rows) and compares a
// fingerprint that includes which keys are active at this instant; it also
// wakes exactly at the next activatesAt, so instances switch signing keys
// together instead of up to one interval apart. On a change it calls
// onChange (reload the keys, rebuild the provider); a failed onChange is
// retried at the next check. The loop itself is startPeriodic's (periodic.ts):
// runNow() checks at once, stop() waits for a check in progress.
import { createHash } from 'node:crypto';
import { startPeriodic, type Periodic } from '../periodic.ts';
import { activeSince, effectiveState, type KeyTimeline } from './key-lifecycle.ts';

export interface KeySetWatcherOptions {
  readonly listKeyTimelines: () => Promise<readonly KeyTimeline[]>;
  readonly intervalMs: number;
  /** Called when the fingerprint differs from the last one handled; resolves when the change is in effect. */
  readonly onChange: () => Promise<void>;
  readonly onError: (error: unknown) => void;
  /**
   * Optional work before each comparison (the rotation schedule): given the
   * rows, resolves true when it changed the key set, which is then re-read.
   */
  readonly maintain?: (keys: readonly KeyTimeline[], at: Date) => Promise<boolean>;
  readonly now?: () => Date;
  /** The fingerprint of the key set the caller already runs with (else the first check calls onChange). */
  readonly initial?: readonly KeyTimeline[];
}

/** What the signing configuration depends on: every key's state at `at`, activation and retirement. */
export function keySetFingerprint(keys: readonly KeyTimeline[], at: Date): string {
  const lines = keys
    .map((key) => [key.kid, key.alg, effectiveState(key, at), activeSince(key), key.retiredAt?.getTime() ?? ''].join(' '))
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('base64url');
}

/** The next instant a published key starts signing, after `at`. */
export function nextActivation(keys: readonly KeyTimeline[], at: Date): Date | undefined {
  const upcoming = keys
    .filter((key) => key.state === 'published' && key.activatesAt !== null && key.activatesAt > at)
    .map((key) => key.activatesAt!.getTime());
  return upcoming.length ? new Date(Math.min(...upcoming)) : undefined;
}

export function startKeySetWatcher(options: KeySetWatcherOptions): Periodic {
  const { intervalMs, onChange, onError, maintain } = options;
  const now = options.now ?? (() => new Date());
  let handled = options.initial ? keySetFingerprint(options.initial, now()) : undefined;

  // Wake at the activation itself (plus a hair, so the key counts as active), if that comes before the interval.
  const untilActivation = (activation: Date | undefined) => (activation ? activation.getTime() - now().getTime() + 5 : undefined);

  async function check(): Promise<number | undefined> {
    let keys = await options.listKeyTimelines();
    if (maintain && (await maintain(keys, now()))) keys = await options.listKeyTimelines();
    const at = now();
    const fingerprint = keySetFingerprint(keys, at);
    if (fingerprint !== handled) {
      await onChange();
      // Only once the change is in effect: a failed reload is retried next time.
      handled = fingerprint;
    }
    return untilActivation(nextActivation(keys, at));
  }

  const firstRunInMs = options.initial ? untilActivation(nextActivation(options.initial, now())) : undefined;
  return startPeriodic({ name: 'key-set watcher', run: check, intervalMs, onError, ...(firstRunInMs !== undefined && { firstRunInMs }) });
}
