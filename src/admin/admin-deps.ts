// What the Admin API's routes are built from: the same services the CLI and
// the pages use (routes call services, never Prisma), plus the key set, the
// mail queue and the configuration. Handed over by the composition root.
import type { Config } from '../config/config.ts';
import type { Keys } from '../keys/create-keys.ts';
import type { Log } from '../log.ts';
import type { Mail } from '../mail/create-mail.ts';
import type { Services } from '../services.ts';

export interface AdminDeps {
  readonly config: Config;
  readonly log: Log;
  readonly services: Services;
  readonly keys: Keys;
  readonly mail: Mail['service'];
}
