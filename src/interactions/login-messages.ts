// The login page's messages for a sign-in the guard did not let through
// (throttle/login-guard.ts decides; these say it to the person, as catalog
// keys the page words in its language).
import { message, type Message } from '../i18n/message.ts';

/** Every way a sign-in can fail with a password says this, so the page never reveals whether an account exists. */
export const INVALID_CREDENTIALS: Message = message('login.error.invalidCredentials');

/** For a throttled attempt: whole minutes, rounded up. */
export function tooManyAttemptsMessage(retryAfterSeconds: number): Message {
  return message('login.error.tooManyAttempts', { count: Math.max(1, Math.ceil(retryAfterSeconds / 60)) });
}

/** For an attempt turned away because too many password checks are running and waiting. */
export const BUSY_MESSAGE: Message = message('login.error.busy');
