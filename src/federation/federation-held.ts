// The server's half of a round trip to an upstream, kept in the interaction
// itself (its result, like the second factor's pending state): bound to the
// interaction and so to the browser's interaction cookie, gone when it
// expires, never readable or writable by the browser.
//
//   started   the state, nonce and PKCE verifier sent to the upstream;
//   returned  who the upstream says signed in, waiting for the person to
//             link an existing account or create one;
//   spent     the callback came (a second one with the same state is a replay).
//
// The start writes through oidc-provider's documented interactionResult (the
// browser's interaction cookie is there); the callback, at its fixed path,
// has no interaction cookie, so it finds the interaction by the uid in the
// sealed federation cookie and saves it through the provider's public
// Interaction model, as interactionResult itself does.
import type { Interaction, Provider } from 'oidc-provider';
import type { UpstreamChecks, UpstreamIdentity } from './upstream-identity.ts';

const KEY = 'latchkeyFederation';

export interface HeldProvider {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
}

export type HeldFederation =
  | { readonly stage: 'started'; readonly provider: HeldProvider; readonly checks: UpstreamChecks }
  | { readonly stage: 'returned'; readonly provider: HeldProvider; readonly identity: UpstreamIdentity }
  | { readonly stage: 'spent'; readonly provider: HeldProvider };

export const heldResult = (held: HeldFederation) => ({ [KEY]: held });

/** What this interaction holds of a federated sign-in, if anything. Only Latchkey writes it. */
export function heldFederation(interaction: Pick<Interaction, 'result'>): HeldFederation | undefined {
  const held = (interaction.result as Record<string, unknown> | undefined)?.[KEY] as HeldFederation | undefined;
  if (!held || typeof held !== 'object' || typeof held.provider?.id !== 'string') return undefined;
  return held.stage === 'started' || held.stage === 'returned' || held.stage === 'spent' ? held : undefined;
}

/** The interaction named by `uid`, when it still exists (not expired, not finished). */
export async function findInteraction(provider: Pick<Provider, 'Interaction'>, uid: string): Promise<Interaction | undefined> {
  if (uid.length === 0 || uid.length > 200) return undefined;
  return (await provider.Interaction.find(uid)) ?? undefined;
}

/** Replaces what the interaction holds, for the rest of its lifetime (as provider.interactionResult does). */
export async function hold(interaction: Interaction, held: HeldFederation): Promise<void> {
  interaction.result = heldResult(held);
  await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
}
