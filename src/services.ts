// The one place repositories are composed into services. The CLI and the
// server both call this, so they apply exactly the same rules.
import { createAccountRepository } from './accounts/account-repository.ts';
import { createAccountService } from './accounts/account-service.ts';
import { createPasswordHasher } from './accounts/password-hasher.ts';
import { createClientRepository } from './clients/client-repository.ts';
import { createClientService } from './clients/client-service.ts';
import type { Config } from './config/config.ts';
import type { Database } from './db/database.ts';
import { createResourceRepository } from './resources/resource-repository.ts';
import { createResourceService } from './resources/resource-service.ts';

export interface ServicesDeps {
  readonly config: Config;
  readonly db: Database;
}

export function createServices({ config, db }: ServicesDeps) {
  const resources = createResourceService({ repository: createResourceRepository(db.prisma), config });
  const clients = createClientService({ repository: createClientRepository(db.prisma), resources, config });
  const accounts = createAccountService({ repository: createAccountRepository(db.prisma), hasher: createPasswordHasher() });
  return { accounts, clients, resources };
}

export type Services = ReturnType<typeof createServices>;
