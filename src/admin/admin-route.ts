// The route registry's unit: what each routes/*.ts module declares for one
// operation of the Admin API (method, OpenAPI path template, the one scope it
// demands, its handler). admin-router.ts mounts the list, each behind the
// gate for its scope and the validation compiled from its OpenAPI operation.
import type { ParameterizedContext } from 'koa';
import type { AuditEventInput } from '../audit/audit-event.ts';
import type { AdminScope } from '../resources/admin-resource.ts';
import type { AdminCaller } from './admin-gate.ts';

export type AdminMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** The request as validated against the OpenAPI document (query values coerced to their types). */
export interface AdminInput {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly body: unknown;
}

export interface AdminState {
  /** Set by the gate; absent only on the public route (the document). */
  admin: AdminCaller;
  input: AdminInput;
  requestId?: string;
}

export type AdminContext = ParameterizedContext<AdminState>;

export interface AdminRoute {
  readonly method: AdminMethod;
  /** Relative to /admin/v1, as in the OpenAPI document: `/clients/{client_id}`. */
  readonly path: string;
  /** Exactly one scope, or null for the one public route (the document). */
  readonly scope: AdminScope | null;
  readonly handle: (ctx: AdminContext) => Promise<void>;
}

/** Declares a route; the operation for method + path must be in the OpenAPI document (checked when mounted). */
export function adminRoute(method: AdminMethod, path: string, scope: AdminScope | null, handle: AdminRoute['handle']): AdminRoute {
  return { method, path, scope, handle };
}

/** Who did it, from where, for the audit event of a change made through the API. */
export function auditContext(ctx: AdminContext): Pick<AuditEventInput, 'actor' | 'ip' | 'requestId'> {
  return { actor: ctx.state.admin.actor, ip: ctx.ip, ...(ctx.state.requestId !== undefined && { requestId: ctx.state.requestId }) };
}

/** The JSON answer of a route: status and body. */
export function reply(ctx: AdminContext, status: number, body?: unknown): void {
  ctx.status = status;
  if (body !== undefined) ctx.body = body;
  ctx.set('Cache-Control', 'no-store');
}
