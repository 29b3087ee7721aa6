// Latchkey's own errors. Each has a stable `code` callers can switch on, the
// HTTP status it maps to, and whether its message is safe to show a user.
// OAuth protocol errors are not modelled here: they stay oidc-provider's own
// classes (InvalidClient, InvalidTarget, …) so the wire format stays the spec's.

export type ErrorCode =
  | 'config_invalid'
  | 'invalid_input'
  | 'already_exists'
  | 'conflict'
  | 'precondition_failed'
  | 'not_found'
  | 'migration_failed'
  | 'database_unavailable'
  | 'key_unavailable'
  | 'key_in_use'
  | 'https_required'
  | 'artifact_consumed'
  | 'already_linked';

export abstract class LatchkeyError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly status: number;
  /** Whether `message` may be shown to an end user or API caller as it is. */
  readonly expose: boolean = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An environment variable is missing or malformed; names the variable. */
export class ConfigError extends LatchkeyError {
  readonly code = 'config_invalid';
  readonly status = 500;
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

/** Input (CLI argument, form field) that breaks a rule; nothing was written. */
export class InvalidInputError extends LatchkeyError {
  readonly code = 'invalid_input';
  readonly status = 400;
  /** The input field at fault, by its wire name (`redirect_uris`, `scopes`), when one is: the Admin API names it. */
  readonly field: string | undefined;
  constructor(message: string, options?: ErrorOptions & { readonly field?: string }) {
    super(message, options);
    this.field = options?.field;
  }
}

/** Why a new password was refused: the page names the rule in the reader's language. */
export type PasswordRule = 'too_short' | 'too_long' | 'common';

/** A new password that breaks a rule of password-policy.ts; never carries the password. */
export class PasswordRuleError extends InvalidInputError {
  constructor(readonly rule: PasswordRule, message: string) {
    super(message, { field: 'password' });
  }
}

/** Creating something whose unique key is taken. The message says "exists". */
export class AlreadyExistsError extends LatchkeyError {
  readonly code = 'already_exists';
  readonly status = 409;
}

/** A change refused because of the state things are in (deleting the admin resource). */
export class ConflictError extends LatchkeyError {
  readonly code = 'conflict';
  readonly status = 409;
}

/** An update or delete made on a version that is no longer the current one (a stale If-Match): nothing was written. */
export class PreconditionFailedError extends LatchkeyError {
  readonly code = 'precondition_failed';
  readonly status = 412;
}

export class NotFoundError extends LatchkeyError {
  readonly code = 'not_found';
  readonly status = 404;
}

export class MigrationError extends LatchkeyError {
  readonly code = 'migration_failed';
  readonly status = 500;
  override readonly expose = false;
}

export class DatabaseUnavailableError extends LatchkeyError {
  readonly code = 'database_unavailable';
  readonly status = 503;
}

export class KeyUnavailableError extends LatchkeyError {
  readonly code = 'key_unavailable';
  readonly status = 500;
  override readonly expose = false;
}

/**
 * A signing key cannot change state yet: it still signs, or tokens it signed
 * may still be unexpired. Unlike invalid_input, retrying later (or --force) can succeed.
 */
export class KeyInUseError extends LatchkeyError {
  readonly code = 'key_in_use';
  readonly status = 409;
}

/** A page that sets Secure cookies, reached over plain http while the issuer is https (src/http/https-pages.ts). */
export class InsecureTransportError extends LatchkeyError {
  readonly code = 'https_required';
  readonly status = 400;
}

/**
 * A single-use artifact (a code, a refresh token) was already consumed when
 * this request tried to consume it: the conditional update changed no row.
 * Carries what the row says (nothing, if it is gone), for the grant handler
 * to answer from (src/oidc/single-use-grants.ts); never shown as it is.
 */
export class ArtifactConsumedError extends LatchkeyError {
  readonly code = 'artifact_consumed';
  readonly status = 400;
  override readonly expose = false;
  constructor(
    readonly model: string,
    readonly row: { readonly consumedAt: Date | null; readonly grantId: string | null } | undefined,
  ) {
    super(`${model} was already consumed`);
  }
}

/**
 * An upstream identity (provider + subject) is already linked to another
 * account: one upstream identity signs in to one account only
 * (src/federation/federated-identities.ts).
 */
export class AlreadyLinkedError extends LatchkeyError {
  readonly code = 'already_linked';
  readonly status = 409;
}
