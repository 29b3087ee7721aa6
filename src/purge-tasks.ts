// Starts the purges, each its own startPeriodic loop: expired
// oidc-provider artifacts, throttle keys idle past every policy's memory,
// expired mailed links, finished back-channel logouts, and audit events past their retention (none when it is 0: kept forever).
// Expired and idle rows are already ignored by every read; this only keeps
// the tables from growing forever. Each run deletes at most PURGE_RUN_LIMIT
// rows, so stop() never waits on a huge backlog: the next run continues.
import type { AccountTokens } from './accounts/account-tokens.ts';
import type { AuditService } from './audit/audit-service.ts';
import type { LogoutOutboxRepository } from './backchannel/logout-outbox-repository.ts';
import type { ArtifactRepository } from './oidc/artifact-repository.ts';
import { startPeriodic, type Periodic } from './periodic.ts';
import type { ThrottleService } from './throttle/throttle-service.ts';

export const PURGE_INTERVAL_MS = 10 * 60 * 1000;
export const PURGE_RUN_LIMIT = 10_000;
/** How long a delivered or given-up back-channel logout is kept (for `lastError`, when its audit event is not enough). */
export const LOGOUT_NOTICE_RETENTION_MS = 7 * 24 * 3_600_000;

export interface PurgeTaskDeps {
  readonly artifacts: Pick<ArtifactRepository, 'purgeExpired'>;
  readonly throttle: Pick<ThrottleService, 'purgeIdle'>;
  readonly audit: Pick<AuditService, 'purgeOlderThan'>;
  readonly accountTokens: Pick<AccountTokens, 'purgeExpired'>;
  readonly logoutOutbox: Pick<LogoutOutboxRepository, 'purgeFinished'>;
  /** Days audit events are kept; 0 keeps them forever (no audit purge). */
  readonly auditRetentionDays: number;
  readonly intervalMs?: number;
  /** Told what a run threw and which purge it was (the phrase names what is purged). */
  readonly onError: (error: unknown, what: string) => void;
  /** Told after each run how many rows it deleted. */
  readonly onPurged?: (count: number, what: string) => void;
  /** Milliseconds since the epoch: the artifacts' cut-off. */
  readonly now?: () => number;
}

export function startPurgeTasks(deps: PurgeTaskDeps): Periodic[] {
  const { intervalMs = PURGE_INTERVAL_MS, now = Date.now } = deps;
  const purges: { name: string; what: string; purge: () => Promise<number> }[] = [
    { name: 'artifact purge', what: 'expired artifacts', purge: () => deps.artifacts.purgeExpired(new Date(now()), PURGE_RUN_LIMIT) },
    { name: 'throttle purge', what: 'idle throttle keys', purge: () => deps.throttle.purgeIdle(PURGE_RUN_LIMIT) },
    { name: 'account token purge', what: 'expired mailed links', purge: () => deps.accountTokens.purgeExpired(new Date(now()), PURGE_RUN_LIMIT) },
    // Their outcome is in the audit log; the rows only keep the queue's index small.
    { name: 'logout notice purge', what: 'back-channel logouts finished a week ago', purge: () => deps.logoutOutbox.purgeFinished(new Date(now() - LOGOUT_NOTICE_RETENTION_MS), PURGE_RUN_LIMIT) },
    ...(deps.auditRetentionDays > 0
      ? [{ name: 'audit purge', what: 'audit events past their retention', purge: () => deps.audit.purgeOlderThan(deps.auditRetentionDays, PURGE_RUN_LIMIT) }]
      : []),
  ];
  return purges.map(({ name, what, purge }) =>
    startPeriodic({
      name,
      intervalMs,
      async run() {
        const count = await purge();
        deps.onPurged?.(count, what);
      },
      onError: (error) => deps.onError(error, what),
    }),
  );
}
