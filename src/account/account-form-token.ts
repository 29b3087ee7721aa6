// The form token of the account page's forms: the interaction form token
// (interactions/form-token.ts) bound to `account:<session uid>`, so it is
// worth something only to the browser holding that session, and a token
// from a sign-in page (bound to an interaction uid) never passes here.
import { createFormTokens } from '../interactions/form-token.ts';

export function createAccountFormTokens(cookieKeys: readonly string[]) {
  const tokens = createFormTokens(cookieKeys);
  const bound = (sessionUid: string) => `account:${sessionUid}`;
  return {
    issue: (sessionUid: string) => tokens.issue(bound(sessionUid)),
    verify: (sessionUid: string, token: unknown) => tokens.verify(bound(sessionUid), token),
  };
}

export type AccountFormTokens = ReturnType<typeof createAccountFormTokens>;
