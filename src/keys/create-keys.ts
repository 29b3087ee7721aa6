// Builds the key machinery the server and the CLI share: the master secret
// (resolved once: LATCHKEY_SECRET or the generated file), the sealer derived
// from it, the key repository, the key service (what the provider signs and
// the cookies are keyed with) and the rotation service (rotate, retire, the
// schedule). One factory, so both ends seal with the same secret and rotate
// under the same policy.
import type { Config } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import { createKeyRepository } from './key-repository.ts';
import { createKeyRotationService, rotationPolicy } from './key-rotation.ts';
import { createKeyService } from './key-service.ts';
import { resolveMasterSecret } from './master-secret.ts';
import { createSealer } from './sealing.ts';

export interface KeysLog {
  /** Told when a master secret file was generated (the only thing said here; never the secret). */
  info(message: string): void;
}

export function createKeys(config: Config, db: Database, log: KeysLog = { info: () => {} }) {
  const masterSecret = resolveMasterSecret(config, log);
  const sealer = createSealer(masterSecret);
  const repository = createKeyRepository(db.prisma, db.dialect);
  return {
    masterSecret,
    sealer,
    repository,
    service: createKeyService({ keys: repository, sealer }),
    rotation: createKeyRotationService({ keys: repository, sealer, policy: rotationPolicy(config) }),
  };
}

export type Keys = ReturnType<typeof createKeys>;
