// Contract with oidc-provider: Latchkey's configuration names every feature
// the library has, so none is on or off by the library's default (which
// changes between versions), and the ones Latchkey depends on are set as it
// needs them. An upgrade that adds a feature fails here until it is decided.
import { describe, expect, it } from 'vitest';
import type { Views } from '../../src/http/views.ts';
import { providerFeatures } from '../../src/oidc/provider.ts';

// The library's own defaults: not in its typings (hence the untyped specifier), and the list this contract is about.
const DEFAULTS: string = 'oidc-provider/lib/helpers/defaults.js';
const libraryFeatures = ((await import(DEFAULTS)) as { defaults: { features: Record<string, unknown> } }).defaults.features;
const features = providerFeatures({ views: {} as Views, resources: { findByIdentifier: async () => undefined } });

describe('providerFeatures', () => {
  it("names every feature of oidc-provider's, and nothing else", () => {
    expect(Object.keys(features).sort()).toEqual(Object.keys(libraryFeatures).sort());
  });

  it.each([
    ['dPoP', true],
    ['devInteractions', false],
    ['pushedAuthorizationRequests', true],
    ['deviceFlow', true],
    ['clientCredentials', true],
    ['introspection', true],
    ['revocation', true],
    ['userinfo', true],
    ['rpInitiatedLogout', true],
    ['backchannelLogout', true],
    ['resourceIndicators', true],
    ['registration', false],
    ['requestObjects', false],
  ])('sets %s to enabled: %s explicitly', (name, enabled) => {
    expect((features as Record<string, { enabled?: boolean }>)[name]?.enabled).toBe(enabled);
  });

  it("leaves PAR optional in the library: LATCHKEY_REQUIRE_PAR binds registered clients through their metadata, not the built-in account client", () => {
    expect(features.pushedAuthorizationRequests?.requirePushedAuthorizationRequests).toBe(false);
  });

  it('keeps DPoP proofs single-use (no replay allowed)', () => {
    expect(features.dPoP).toMatchObject({ enabled: true, allowReplay: false });
  });

  it('switches every other feature off explicitly', () => {
    for (const [name, feature] of Object.entries(features)) {
      expect(typeof (feature as { enabled?: unknown }).enabled, name).toBe('boolean');
    }
  });
});
