// The login page's words for a sign-in the guard did not let through
// (throttle/login-guard.ts decides; these say it to the person).

/** For a throttled attempt: whole minutes, rounded up. */
export function tooManyAttemptsMessage(retryAfterSeconds: number): string {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return `Too many attempts. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`;
}

/** For an attempt turned away because too many password checks are running and waiting. */
export const BUSY_MESSAGE = 'Latchkey is busy right now. Try again in a few seconds.';
