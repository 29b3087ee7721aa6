// The brute-force rules: what is counted, how many failures are free, how the
// back-off grows, where it stops and when failures are forgotten. Pure data and
// one pure function, so the numbers can be read and tested in one place.
//
// Every key follows the same rule. Failures of a key are counted until an hour
// passes without one (then they are forgotten). The first `free` - 1 failures
// cost nothing; the `free`-th and every later one blocks the key for
// 15 s x 2^(failures - free), capped at `maxBlock`:
// 15 s, 30 s, 1 min, 2 min, 4 min, 8 min, then the cap. A blocked attempt is
// refused before any password or secret is checked, and is not counted (only
// checked attempts are), so hammering a blocked key neither costs argon2 time
// nor extends the block.
//
// Why these numbers: back-off steps shorter than ~15 s stop no script (it just
// sleeps), so the first block is already 15 s; doubling reaches the cap within
// half an hour of sustained guessing, after which a key gets one attempt per
// cap. An hour of quiet is longer than every cap, so an attacker who waits out
// a block is still at the cap, while a person who mistyped is forgiven soon.

export type ThrottleScope =
  /** One account (keyed digest of the normalised email) from one client IP. */
  | 'login_account_ip'
  /** One client IP, whatever account it tries. */
  | 'login_ip'
  /** One account, from anywhere. */
  | 'login_account'
  /** One login page (one interaction), whatever accounts and addresses it is posted for. */
  | 'login_interaction'
  /** Failed client authentication for one client_id from one client IP (token, introspection, revocation, PAR). */
  | 'client_at_ip'
  /** Failed client authentication from one client IP. */
  | 'client_ip'
  /** Accounts created from one client IP (sign-up). */
  | 'signup_ip'
  /** Mails asked for one address (verification, reset, resend), by anyone. */
  | 'mail_email'
  /** Mails asked for from one client IP, whatever the address. */
  | 'mail_ip'
  /** Mailed links (verify, reset, invite) from one client IP that matched nothing, or nothing any more. */
  | 'link_ip'
  /** Wrong second-factor codes (TOTP or recovery) for one account, from anywhere. */
  | 'mfa_account'
  /** Failed passkey sign-ins (an unknown credential, a bad signature, a stale counter) from one client IP. */
  | 'passkey_ip'
  /** Device-flow user codes typed on /device that matched no live code, from one client IP. */
  | 'device_code_ip'
  /** Polls of one pending device code at the token endpoint (RFC 8628 §3.5 slow_down). */
  | 'device_poll';

export interface ThrottlePolicy {
  /** The failure that starts the back-off (earlier ones are free). */
  readonly free: number;
  /** Seconds of the first block; each later failure doubles it. */
  readonly baseBlock: number;
  /** Seconds; no block is ever longer. */
  readonly maxBlock: number;
  /** Seconds without a failure after which a key's failures are forgotten. */
  readonly forgetAfter: number;
  /** Whether a success for this key (right password, right secret) clears its failures. */
  readonly clearedBySuccess: boolean;
}

const MINUTE = 60;
const HOUR = 3600;

export const THROTTLE_POLICIES: Readonly<Record<ThrottleScope, ThrottlePolicy>> = Object.freeze({
  // The strict limit on guessing one account: five tries, then the back-off up
  // to 15 minutes. Only this key is cleared by the right password, so a person
  // who got in is not held back by their own typos.
  login_account_ip: { free: 5, baseBlock: 15, maxBlock: 15 * MINUTE, forgetAfter: HOUR, clearedBySuccess: true },
  // Password spraying from one address. Generous, because many people can
  // share one address (offices, mobile carriers): 30 failures before the
  // back-off. Never cleared by one person's success on a shared address.
  login_ip: { free: 30, baseBlock: 15, maxBlock: 15 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // Guessing one account from many addresses (a botnet), which the two keys
  // above cannot see. Capped at 5 minutes so that it can never lock the owner
  // out for long, and skipped for a browser the owner has signed in with
  // before (device-cookie.ts): an attacker cannot have that cookie.
  login_account: { free: 10, baseBlock: 15, maxBlock: 5 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // One login page takes ten wrong passwords, then no more for longer than it
  // lives by default (LATCHKEY_INTERACTION_TTL, 10 minutes): the person
  // starts again, which needs a new /auth (itself bounded per address:
  // authorization-throttle.ts). So no one page can be posted for ever, from
  // ever more addresses, at ever more accounts.
  login_interaction: { free: 10, baseBlock: 30 * MINUTE, maxBlock: 30 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // client_ids are public and secrets are 256 random bits, so these keys guard
  // against noise, not guessing. A block holds off only wrong credentials:
  // the right ones are always served (client-auth-throttle.ts), so no count
  // can keep a working client from getting tokens. Counted per (client_id,
  // IP), never per client_id alone, and cleared by the client's next success.
  client_at_ip: { free: 20, baseBlock: 15, maxBlock: MINUTE, forgetAfter: HOUR, clearedBySuccess: true },
  client_ip: { free: 20, baseBlock: 15, maxBlock: 15 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // The self-service pages (account-limits.ts) count every attempt here, not
  // only failures: each one can create a row or send a mail. Past `free`,
  // the page says "try again later" (429) and no mail goes out.
  // Ten accounts an hour from one address: a family or an office signing up
  // together, not a script filling the table.
  signup_ip: { free: 10, baseBlock: 10 * MINUTE, maxBlock: 30 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // Five mails to one address, then ten minutes' wait, growing: nobody can
  // turn Latchkey into a mail bomb aimed at someone else's inbox.
  mail_email: { free: 5, baseBlock: 10 * MINUTE, maxBlock: 30 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // Twenty mails from one address, whatever the recipients: bounds spraying.
  mail_ip: { free: 20, baseBlock: 10 * MINUTE, maxBlock: 30 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // A link's token is 256 random bits: guessing is hopeless, so this only
  // quiets a client replaying dead links. Counted on failure only, so a
  // person following their own links never meets it.
  link_ip: { free: 20, baseBlock: MINUTE, maxBlock: 15 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // A six-digit code with a ±1 step window is guessed with odds of 3 in a
  // million per try, and only after the right password. Five free tries
  // (typos, a slow clock), then the back-off up to 15 minutes: at the cap
  // that is under a hundred guesses a day. Per account, not per address, so
  // a botnet gains nothing; cleared by the owner's next right code.
  mfa_account: { free: 5, baseBlock: 15, maxBlock: 15 * MINUTE, forgetAfter: HOUR, clearedBySuccess: true },
  // A passkey cannot be guessed (a signature by a private key that never
  // leaves the authenticator), so this only quiets a client replaying or
  // forging assertions, each of which costs a signature check and a row
  // lookup. Counted on failure only; a cancelled ceremony posts nothing.
  passkey_ip: { free: 20, baseBlock: MINUTE, maxBlock: 15 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // A user code is 8 characters of 20 (about 2.6 × 10^10 codes), live for
  // minutes: guessing one that someone is about to approve is the attack.
  // Ten typos are free, then the back-off up to 15 minutes: at the cap an
  // address gets under a hundred guesses a day, odds of about 4 in a billion
  // per live code. Per address, never cleared: a right code does not buy
  // more wrong ones.
  device_code_ip: { free: 10, baseBlock: MINUTE, maxBlock: 15 * MINUTE, forgetAfter: HOUR, clearedBySuccess: false },
  // Not a failure count but a pace: every poll of a pending device code
  // blocks the next one for 4 s, so a device that keeps the advertised
  // 5 s interval (a second for the network) never meets it, and one that
  // polls faster gets slow_down (device-polling.ts).
  device_poll: { free: 1, baseBlock: 4, maxBlock: 4, forgetAfter: 15 * MINUTE, clearedBySuccess: false },
});

/** Seconds the key is blocked for after its `failures`-th failure (0: not blocked). */
export function blockSeconds(policy: ThrottlePolicy, failures: number): number {
  if (failures < policy.free) return 0;
  // 2^20 x 15 s is far past any cap; the exponent is bounded so the arithmetic stays exact.
  const doublings = Math.min(failures - policy.free, 20);
  return Math.min(policy.baseBlock * 2 ** doublings, policy.maxBlock);
}
