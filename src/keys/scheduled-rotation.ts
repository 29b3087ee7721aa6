// The rotation schedule as the key-set watcher's `maintain` step: when the
// rotation policy says a key is due (LATCHKEY_KEY_ROTATION_DAYS), rotate in a
// successor and retire what may be retired, log it and audit it as the
// schedule's doing. With scheduled rotation off (0 days) it never acts
// (maintenanceDue says so).
import { SCHEDULE_ACTOR } from '../audit/audit-event.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { Log } from '../log.ts';
import type { KeyTimeline } from './key-lifecycle.ts';
import type { KeyRotationService } from './key-rotation.ts';

export interface ScheduledRotationDeps {
  readonly rotation: Pick<KeyRotationService, 'maintenanceDue' | 'runMaintenance'>;
  readonly audit: Pick<AuditService, 'record'>;
  readonly log: Log;
}

export function scheduledRotation({ rotation, audit, log }: ScheduledRotationDeps) {
  /** Resolves true when it changed the key set. */
  return async (current: readonly KeyTimeline[], at: Date): Promise<boolean> => {
    if (!rotation.maintenanceDue(current, at)) return false;
    const { rotated, retired } = await rotation.runMaintenance();
    if (rotated.length || retired.length) {
      log.info({ rotated: rotated.map((key) => key.kid), retired: retired.map((key) => key.kid) }, 'scheduled key rotation');
    }
    for (const key of rotated) audit.record({ type: 'key.rotated', actor: SCHEDULE_ACTOR, subject: key.kid, details: { alg: key.alg } });
    for (const key of retired) audit.record({ type: 'key.retired', actor: SCHEDULE_ACTOR, subject: key.kid, details: { alg: key.alg, forced: false } });
    return rotated.length > 0 || retired.length > 0;
  };
}
