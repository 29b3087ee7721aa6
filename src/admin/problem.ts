// The one place errors become responses for /admin/v1: RFC 9457
// application/problem+json, one shape for every error (401 and 403 included),
// with a stable `type`/`code`. Latchkey's own errors map by their code;
// anything unknown is a 500 whose details go to the log only: never a stack
// trace, never a secret, in a response.
import type { Context, Middleware } from 'koa';
import { isDatabaseUnavailable } from '../db/availability.ts';
import { InvalidInputError, LatchkeyError } from '../errors.ts';
import type { Log } from '../log.ts';

export type ProblemCode =
  | 'invalid_token'
  | 'insufficient_scope'
  | 'not_found'
  | 'invalid_body'
  | 'invalid_query'
  | 'precondition_failed'
  | 'conflict'
  | 'key_in_use'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'service_unavailable'
  | 'internal_error';

const TITLES: Record<ProblemCode, string> = {
  invalid_token: 'The access token is missing or not valid',
  insufficient_scope: 'The access token lacks the scope this operation needs',
  not_found: 'Not found',
  invalid_body: 'The request body is not valid',
  invalid_query: 'The query is not valid',
  precondition_failed: 'The resource has changed since it was read',
  conflict: 'The request conflicts with the current state',
  key_in_use: 'The key is still in use',
  unsupported_media_type: 'Unsupported content type',
  method_not_allowed: 'Method not allowed',
  payload_too_large: 'The request body is too large',
  service_unavailable: 'Temporarily unavailable',
  internal_error: 'Internal error',
};

/** One invalid input field: its wire name (`redirect_uris[0]`, `limit`) and why. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export interface ProblemOptions {
  /** Invalid fields (400 only). */
  readonly errors?: readonly FieldError[];
  /** Response headers (WWW-Authenticate for 401/403, Allow for 405). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An error the Admin API answers as it is: status, code and a detail safe to show. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly detail: string,
    readonly options: ProblemOptions = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ProblemCode;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
}

/** The problem URI of a code: `urn:latchkey:problem:<code>`. */
export function problemType(code: ProblemCode): string {
  return `urn:latchkey:problem:${code}`;
}

/** Mounted first under /admin/v1: everything below it that throws is answered here. */
export function problemRendering(log: Log): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const problem = toProblem(error);
      const requestLog: Log = ctx.state.log ?? log;
      if (problem.status >= 500) requestLog.error({ err: error }, 'admin API request failed');
      respond(ctx, problem);
    }
  };
}

/** Writes a problem response. */
export function respond(ctx: Context, problem: ProblemError): void {
  const body: ProblemBody = {
    type: problemType(problem.code),
    title: TITLES[problem.code],
    status: problem.status,
    code: problem.code,
    detail: problem.detail,
    ...(problem.options.errors && problem.options.errors.length > 0 && { errors: problem.options.errors }),
  };
  ctx.status = problem.status;
  for (const [name, value] of Object.entries(problem.options.headers ?? {})) ctx.set(name, value);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = JSON.stringify(body);
  ctx.type = 'application/problem+json';
}

/** What any thrown value is as a problem. */
export function toProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof InvalidInputError) {
    return new ProblemError(400, 'invalid_body', error.message, { errors: [{ field: error.field ?? '', message: error.message }] });
  }
  if (error instanceof LatchkeyError && error.expose) {
    switch (error.code) {
      case 'not_found':
        return new ProblemError(404, 'not_found', error.message);
      case 'already_exists':
      case 'conflict':
        return new ProblemError(409, 'conflict', error.message);
      case 'key_in_use':
        return new ProblemError(409, 'key_in_use', error.message);
      case 'precondition_failed':
        return new ProblemError(412, 'precondition_failed', error.message);
      case 'database_unavailable':
        return unavailable();
      default:
        break;
    }
  }
  if (isDatabaseUnavailable(error)) return unavailable();
  // Koa's own client errors (ctx.throw(4xx)), e.g. a body the parser refused.
  const status = (error as { status?: unknown; expose?: unknown } | null)?.status;
  if (typeof status === 'number' && status === 413) return new ProblemError(413, 'payload_too_large', 'The request body is too large.');
  return new ProblemError(500, 'internal_error', 'Latchkey could not complete this request.');
}

function unavailable(): ProblemError {
  return new ProblemError(503, 'service_unavailable', 'The database is unavailable; try again shortly.', { headers: { 'Retry-After': '5' } });
}
