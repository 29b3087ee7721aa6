// The token every console form carries, on top of SameSite=Lax cookies: the
// interaction form token (interactions/form-token.ts) bound to
// `console:<session id>`, so it is worth something only with that browser's
// console session, and a token from any other page of Latchkey never passes.
import { createFormTokens } from '../interactions/form-token.ts';

export function createConsoleFormTokens(cookieKeys: readonly string[]) {
  const tokens = createFormTokens(cookieKeys);
  const bound = (sid: string) => `console:${sid}`;
  return {
    issue: (sid: string) => tokens.issue(bound(sid)),
    verify: (sid: string, token: unknown) => tokens.verify(bound(sid), token),
  };
}

export type ConsoleFormTokens = ReturnType<typeof createConsoleFormTokens>;
