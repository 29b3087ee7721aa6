// Names what brute-force protection counts. A key never holds an email, a
// client_id or an address as typed: each is a keyed digest (HMAC-SHA256 under
// a key derived from the master secret, which every instance shares), so the
// Throttle table cannot be turned back into the emails people tried, and an
// attacker's 10 kB "email" becomes a 43-character key.
import { createHmac, hkdfSync } from 'node:crypto';
import net from 'node:net';
import type { ThrottleScope } from './throttle-policy.ts';

const INFO = 'latchkey throttle keys v1';

export interface ThrottleKey {
  readonly scope: ThrottleScope;
  /** Keyed digest of what is counted (see createThrottleKeys). */
  readonly id: string;
}

export interface LoginKeys {
  readonly accountIp: ThrottleKey;
  readonly ip: ThrottleKey;
  readonly account: ThrottleKey;
  /** The login page (interaction) the attempt was posted on. */
  readonly interaction: ThrottleKey;
  /** Names the account (not the address): what a device cookie is bound to. */
  readonly accountDigest: string;
}

export interface ClientAuthKeys {
  /** The (client_id, IP) pair; absent when the request named no client. */
  readonly client?: ThrottleKey;
  readonly ip: ThrottleKey;
}

export function createThrottleKeys(masterSecret: string) {
  const secret = Buffer.from(hkdfSync('sha256', masterSecret, '', INFO, 32));
  // NUL separates the parts: no email, client_id or address contains one that matters.
  const digest = (...parts: string[]) => createHmac('sha256', secret).update(parts.join('\0'), 'utf8').digest('base64url');

  const accountDigest = (email: string) => digest('account', normaliseLoginEmail(email));

  return {
    /** Names the account with `email` to a device cookie (interactions/device-cookie.ts), as a password sign-in does. */
    accountDigest,

    /** Keys of a sign-in attempt with `email` (normalised like stored emails) from `ip`, posted on interaction `interactionUid`. */
    login(email: string, ip: string, interactionUid: string): LoginKeys {
      const account = accountDigest(email);
      const address = throttledAddress(ip);
      return {
        accountIp: { scope: 'login_account_ip', id: digest('account-ip', account, address) },
        ip: { scope: 'login_ip', id: digest('ip', address) },
        account: { scope: 'login_account', id: account },
        interaction: { scope: 'login_interaction', id: digest('interaction', interactionUid) },
        accountDigest: account,
      };
    },

    /**
     * Keys of a client authentication attempt at an endpoint that
     * authenticates clients. Never the client_id alone: it is public, and a
     * key strangers can fill from anywhere would be theirs to aim.
     */
    clientAuth(clientId: string | undefined, ip: string): ClientAuthKeys {
      const address = throttledAddress(ip);
      return {
        ...(clientId ? { client: { scope: 'client_at_ip', id: digest('client-ip', clientId, address) } satisfies ThrottleKey } : {}),
        ip: { scope: 'client_ip', id: digest('ip', address) },
      };
    },

    /** The key of second-factor codes for one account (mfa/mfa-service.ts). */
    mfa(accountId: string): ThrottleKey {
      return { scope: 'mfa_account', id: digest('mfa-account', accountId) };
    },

    /** The key of a passkey sign-in from `ip` (failures only: interactions/passkey-sign-in.ts). */
    passkey(ip: string): ThrottleKey {
      return { scope: 'passkey_ip', id: digest('passkey-ip', throttledAddress(ip)) };
    },

    /** The key of user codes typed on /device from `ip` (failures only: http/device-code-throttle.ts). */
    deviceCodeEntry(ip: string): ThrottleKey {
      return { scope: 'device_code_ip', id: digest('device-code-ip', throttledAddress(ip)) };
    },

    /** The key pacing the polls of one device code (oidc/device-polling.ts); the code itself is only digested. */
    devicePoll(deviceCode: string): ThrottleKey {
      return { scope: 'device_poll', id: digest('device-poll', deviceCode) };
    },

    /** Keys of a self-service request (account-limits.ts): the client's address, and the address mailed to if any. */
    selfService(ip: string, email?: string): SelfServiceKeys {
      const address = throttledAddress(ip);
      return {
        signupIp: { scope: 'signup_ip', id: digest('signup-ip', address) },
        mailIp: { scope: 'mail_ip', id: digest('mail-ip', address) },
        linkIp: { scope: 'link_ip', id: digest('link-ip', address) },
        ...(email !== undefined && { mailEmail: { scope: 'mail_email', id: digest('mail-email', normaliseLoginEmail(email)) } satisfies ThrottleKey }),
      };
    },
  };
}

export interface SelfServiceKeys {
  readonly signupIp: ThrottleKey;
  readonly mailIp: ThrottleKey;
  readonly linkIp: ThrottleKey;
  readonly mailEmail?: ThrottleKey;
}

export type ThrottleKeys = ReturnType<typeof createThrottleKeys>;

/**
 * The form account emails are stored in (trimmed, lower-case), applied to
 * anything typed, valid or not, so "Ada@X" and "ada@x " are one account.
 */
function normaliseLoginEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The address a client is counted under: IPv4 as it is (also when it arrives
 * IPv4-mapped, ::ffff:a.b.c.d), IPv6 by its /64, because one subscriber
 * usually holds a whole /64 and could otherwise use a fresh address per try.
 */
export function throttledAddress(ip: string): string {
  // IPv4, the usual case, as it is, without IPv6 parsing.
  if (!ip.includes(':')) return ip;
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (net.isIPv6(address)) return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
  return address;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function expandIpv6(address: string): string[] {
  const toGroups = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [group];
          // A trailing embedded IPv4 address fills the last two groups.
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const [head = '', tail] = address.split('::');
  const first = toGroups(head);
  const last = tail === undefined ? [] : toGroups(tail);
  const zeros = new Array<string>(8 - first.length - last.length).fill('0');
  return [...first, ...zeros, ...last].map((group) => parseInt(group, 16).toString(16));
}
