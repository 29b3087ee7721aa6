// Client lookups under a real oidc-provider: the Client compiled from a
// client's metadata is reused while the registry hands out the same metadata
// object (no re-read through the adapter, no hash of the metadata), and a
// changed client — a new metadata object — is compiled anew at once.
import Provider, { type Adapter } from 'oidc-provider';
import { expect, it } from 'vitest';
import { rememberCompiledClients } from '../../src/oidc/compiled-clients.ts';

const metadata = (secret: string) => ({
  client_id: 'svc',
  client_secret: secret,
  redirect_uris: ['https://app.example/callback'],
});

it('compiles a client once per metadata object, and again as soon as the metadata changes', async () => {
  let current: Record<string, unknown> | undefined = metadata('first-secret-0123456789');
  const registry = { findProviderMetadata: async (id: string) => (id === 'svc' ? current : undefined) };
  let adapterReads = 0;
  const adapter = (name: string): Adapter =>
    ({
      async find(id: string) {
        if (name !== 'Client') return undefined;
        adapterReads += 1;
        return registry.findProviderMetadata(id);
      },
    }) as unknown as Adapter;
  const provider = new Provider('http://localhost:3000', { adapter });
  rememberCompiledClients(provider, registry);

  const first = await provider.Client.find('svc');
  expect(first?.clientSecret).toBe('first-secret-0123456789');
  expect(await provider.Client.find('svc')).toBe(first);
  expect(await provider.Client.find('svc')).toBe(first);
  expect(adapterReads).toBe(1);

  current = metadata('second-secret-0123456789');
  const changed = await provider.Client.find('svc');
  expect(changed?.clientSecret).toBe('second-secret-0123456789');
  expect(adapterReads).toBe(2);

  current = undefined;
  expect(await provider.Client.find('svc')).toBeUndefined();
  expect(await provider.Client.find('nobody')).toBeUndefined();
});
