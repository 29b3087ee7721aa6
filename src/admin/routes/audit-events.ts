// The /audit-events routes of the Admin API (filled in by that area's author).
import type { AdminDeps } from '../admin-deps.ts';
import type { AdminRoute } from '../admin-route.ts';

export function auditEventRoutes(_deps: AdminDeps): AdminRoute[] {
  return [];
}
