// The route registry: every routes/*.ts module's routes, in one list. A new
// area adds its module here, one line (and its OpenAPI part in openapi.ts).
import type { AdminDeps } from './admin-deps.ts';
import type { AdminRoute } from './admin-route.ts';
import { auditEventRoutes } from './routes/audit-events.ts';
import { clientRoutes } from './routes/clients.ts';
import { keyRoutes } from './routes/keys.ts';
import { openApiRoutes } from './routes/openapi-document.ts';
import { resourceRoutes } from './routes/resources.ts';
import { userRoutes } from './routes/users.ts';

export function adminRoutes(deps: AdminDeps): AdminRoute[] {
  return [...openApiRoutes(), ...clientRoutes(deps), ...resourceRoutes(deps), ...userRoutes(deps), ...keyRoutes(deps), ...auditEventRoutes(deps)];
}
