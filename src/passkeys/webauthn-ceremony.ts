// The WebAuthn ceremonies, through @simplewebauthn/server: the options a
// browser passes to navigator.credentials.create/get, and the checks of what
// comes back. The relying party is the issuer: its hostname is the RP ID, its
// origin the only origin accepted (exactly), and user verification is
// required both to register and to sign in (a passkey then stands for two
// factors: the device, and the PIN or biometric that unlocked it).
//
// A passkey can also be the second factor after a password: then the options
// name the account's own credentials (allowCredentials), the challenge is
// bound to that account too, and a credential of another account is refused.
// User verification is then preferred, not required: the password is the
// other factor.
//
// Each challenge is 32 random bytes kept server-side (PasskeyChallenge), bound
// to what asked for it (the account page's session, or the sign-in page's
// interaction), and taken (deleted) when an answer names it: single use,
// across instances, whatever the answer's fate. A row rather than a signed
// cookie because a cookie can be sent again: only the database can say "this
// one was already answered".
import { randomBytes } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isDatabaseText } from '../db/database-text.ts';
import type { ChallengeRepository } from './challenge-repository.ts';
import type { PasskeyService, VerifiedCredential } from './passkey-service.ts';
import type { PasskeyRow } from './passkey-repository.ts';

/** How long a browser has to answer: the options ask the authenticator for the same. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

export type CeremonyFailure = 'malformed' | 'challenge' | 'unknown_credential' | 'invalid_response';

export interface CeremonyDeps {
  readonly issuer: string;
  readonly passkeys: Pick<PasskeyService, 'credentialsOf' | 'findForSignIn'>;
  readonly challenges: ChallengeRepository;
  readonly now?: () => Date;
}

export type AssertionOutcome = { ok: true; passkey: PasskeyRow; counter: number } | { ok: false; reason: CeremonyFailure; passkey?: PasskeyRow };

type Purpose = 'register' | 'sign_in' | 'second_factor';

/**
 * The library, loaded at the first ceremony: with its CBOR, ASN.1 and
 * attestation code it is ~15 MB of a process's memory, which a server whose
 * people never use a passkey should not carry.
 */
const webauthn = () => import('@simplewebauthn/server');

export function createWebAuthnCeremony({ issuer, passkeys, challenges, now = () => new Date() }: CeremonyDeps) {
  const url = new URL(issuer);
  const rpID = url.hostname;
  const origin = url.origin;

  async function issueChallenge(purpose: Purpose, boundTo: string, accountId: string | null): Promise<Uint8Array<ArrayBuffer>> {
    const bytes = new Uint8Array(randomBytes(32));
    const at = now();
    await challenges.purgeExpired(at);
    await challenges.insert({ id: Buffer.from(bytes).toString('base64url'), purpose, boundTo, accountId, expiresAt: new Date(at.getTime() + CHALLENGE_TTL_MS) });
    return bytes;
  }

  /** simplewebauthn's expectedChallenge as a function: it is handed the answer's challenge, and this takes it (once). */
  const taker = (purpose: Purpose, boundTo: string, accountId: string | null) => {
    const state = { taken: false };
    const take = async (challenge: string) => {
      state.taken = isDatabaseText(challenge, 100) && (await challenges.take({ id: challenge, purpose, boundTo, accountId }, now()));
      return state.taken;
    };
    return { take, state };
  };

  /** One assertion check for both uses: the challenge (taken once), the passkey it names (of `accountId` when given), signature, origin, RP ID. */
  async function verifyAssertion(
    expected: { purpose: Purpose; boundTo: string; accountId: string | null; requireUserVerification: boolean },
    response: unknown,
  ): Promise<AssertionOutcome> {
    if (!isCredentialJson(response)) return { ok: false, reason: 'malformed' };
    const found = await passkeys.findForSignIn(response.id);
    const passkey = found && (expected.accountId === null || found.accountId === expected.accountId) ? found : undefined;
    const { take, state } = taker(expected.purpose, expected.boundTo, expected.accountId);
    if (!passkey) {
      // The challenge is spent all the same: an answer is one try, whatever it names.
      const challenge = challengeOf(response);
      if (challenge !== undefined) await take(challenge);
      return { ok: false, reason: 'unknown_credential' };
    }
    try {
      const verified = await (await webauthn()).verifyAuthenticationResponse({
        response: response as unknown as AuthenticationResponseJSON,
        expectedChallenge: take,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: expected.requireUserVerification,
        credential: { id: passkey.id, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: passkey.counter },
      });
      if (!verified.verified) return { ok: false, reason: 'invalid_response', passkey };
      return { ok: true, passkey, counter: verified.authenticationInfo.newCounter };
    } catch {
      return { ok: false, reason: state.taken ? 'invalid_response' : 'challenge', passkey };
    }
  }

  return {
    rpID,
    origin,

    async registrationOptions(account: { id: string; email: string; name: string | null }, boundTo: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
      return (await webauthn()).generateRegistrationOptions({
        rpName: 'Latchkey',
        rpID,
        // A stable handle that names the account to the authenticator and says nothing about the person.
        userID: new Uint8Array(Buffer.from(account.id, 'utf8')),
        userName: account.email,
        userDisplayName: account.name ?? account.email,
        challenge: await issueChallenge('register', boundTo, account.id),
        timeout: CHALLENGE_TTL_MS,
        attestationType: 'none',
        excludeCredentials: await passkeys.credentialsOf(account.id),
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      });
    },

    /** Checks a new credential against the challenge handed to this session for this account. */
    async verifyRegistration(accountId: string, boundTo: string, response: unknown): Promise<{ ok: true; credential: VerifiedCredential } | { ok: false; reason: CeremonyFailure }> {
      if (!isCredentialJson(response)) return { ok: false, reason: 'malformed' };
      const { take, state } = taker('register', boundTo, accountId);
      try {
        const verified = await (await webauthn()).verifyRegistrationResponse({
          response: response as unknown as RegistrationResponseJSON,
          expectedChallenge: take,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
        if (!verified.verified) return { ok: false, reason: 'invalid_response' };
        const { credential } = verified.registrationInfo;
        return {
          ok: true,
          credential: { id: credential.id, publicKey: Buffer.from(credential.publicKey).toString('base64url'), counter: credential.counter, transports: (credential.transports ?? []).filter((t) => typeof t === 'string' && t.length <= 32).slice(0, 8) },
        };
      } catch {
        // simplewebauthn throws for every malformed or mismatched answer; which check failed is not the page's business.
        return { ok: false, reason: state.taken ? 'invalid_response' : 'challenge' };
      }
    },

    /** Options for a discoverable-credential sign-in: no allowCredentials, the authenticator offers the account's passkey. */
    async signInOptions(boundTo: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return (await webauthn()).generateAuthenticationOptions({ rpID, userVerification: 'required', timeout: CHALLENGE_TTL_MS, challenge: await issueChallenge('sign_in', boundTo, null) });
    },

    /** Checks an assertion against the stored passkey it names and the challenge handed to this interaction. */
    verifySignIn(boundTo: string, response: unknown): Promise<AssertionOutcome> {
      return verifyAssertion({ purpose: 'sign_in', boundTo, accountId: null, requireUserVerification: true }, response);
    },

    /** Options for a passkey as the second factor of `accountId` (its password already checked): its own credentials only. */
    async secondFactorOptions(boundTo: string, accountId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return (await webauthn()).generateAuthenticationOptions({
        rpID,
        userVerification: 'preferred',
        timeout: CHALLENGE_TTL_MS,
        allowCredentials: await passkeys.credentialsOf(accountId),
        challenge: await issueChallenge('second_factor', boundTo, accountId),
      });
    },

    /** Checks a second-factor assertion: the challenge handed to this interaction for this account, and a passkey of this account. */
    verifySecondFactor(boundTo: string, accountId: string, response: unknown): Promise<AssertionOutcome> {
      return verifyAssertion({ purpose: 'second_factor', boundTo, accountId, requireUserVerification: false }, response);
    },
  };
}

export type WebAuthnCeremony = ReturnType<typeof createWebAuthnCeremony>;

/** The shape every WebAuthn answer has (id, rawId, type, response object); the library checks the rest. */
function isCredentialJson(value: unknown): value is { id: string; rawId: string; type: string; response: Record<string, unknown> } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === 'string' && typeof v.rawId === 'string' && v.type === 'public-key' && typeof v.response === 'object' && v.response !== null && typeof (v.response as Record<string, unknown>).clientDataJSON === 'string';
}

function challengeOf(response: { response: Record<string, unknown> }): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(String(response.response.clientDataJSON), 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}
