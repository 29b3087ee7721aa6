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

const when = (date: Date | null) => (date ? date.toISOString() : '-');

export function createKeyAdministration({ rotation, audit }: KeyAdministrationDeps) {
  return {
    /** Every signing key, retired ones included, newest first; no key material. */
    list: (): Promise<KeyStatus[]> => rotation.list(),

    async rotate(input: RotateInput, { actor }: { readonly actor: string }): Promise<KeyStatus> {
      const key = await rotation.rotate(input);
      audit.record({ type: 'key.rotated', actor, subject: key.kid, details: { alg: key.alg, activatesAt: when(key.activatesAt) } });
      return key;
    },

    async retire(kid: string, { force, actor }: { readonly force: boolean; readonly actor: string }): Promise<RetireResult> {
      const result = await rotation.retire(kid, { force });
      audit.record({ type: 'key.retired', actor, subject: kid, details: { alg: result.key.alg, forced: result.forced } });
      return result;
    },
  };
}

export type KeyAdministration = ReturnType<typeof createKeyAdministration>;
