// Signing keys as the Admin API changes them: exactly what `latchkey keys
// list|rotate|retire` does (key-rotation.ts decides, under the key-set
// lock, with the same key_in_use refusals and the same `force`), each change
// recorded as the same audit event the CLI records, by the actor the caller
// names. Running instances pick the change up through their key-set watcher.
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { KeyRotationService, KeyStatus, RetireResult, RotateInput } from './key-rotation.ts';

export interface KeyAdministrationDeps {
  readonly rotation: Pick<KeyRotationService, 'list' | 'rotate' | 'retire'>;
  readonly audit: { record(event: AuditEventInput): void };
}

/** Who made a change (and from where): recorded on its audit event. */
export type AuditActor = Pick<AuditEventInput, 'actor' | 'ip' | 'requestId'>;

const when = (date: Date | null) => (date ? date.toISOString() : '-');

export function createKeyAdministration({ rotation, audit }: KeyAdministrationDeps) {
  return {
    /** Every signing key, retired ones included, newest first; no key material. */
    list: (): Promise<KeyStatus[]> => rotation.list(),

    async rotate(input: RotateInput, by: AuditActor): Promise<KeyStatus> {
      const key = await rotation.rotate(input);
      audit.record({ ...by, type: 'key.rotated', subject: key.kid, details: { alg: key.alg, activatesAt: when(key.activatesAt) } });
      return key;
    },

    async retire(kid: string, { force, ...by }: { readonly force: boolean } & AuditActor): Promise<RetireResult> {
      const result = await rotation.retire(kid, { force });
      audit.record({ ...by, type: 'key.retired', subject: kid, details: { alg: result.key.alg, forced: result.forced } });
      return result;
    },
  };
}

export type KeyAdministration = ReturnType<typeof createKeyAdministration>;
