// oidc-provider's Client.find (lib/models/client.js) reads the client's
// metadata from the adapter on every request and hashes all of it (JSON,
// then SHA-256) to find the Client it compiled from that metadata before:
// on the client-credentials path, the largest piece of work left that the
// bare provider does not do (bench --profile). Latchkey's metadata comes
// from the registry cache (registry-cache.ts), which hands out the same
// object for a client until a change to any client or resource clears the
// cache. So the compiled Client is remembered per metadata object: no hash
// while nothing changed, and a rotated secret or a deleted client reaches
// oidc-provider the moment the registry sees it, as before.
//
// Every lookup in oidc-provider goes through provider.Client.find, which
// this replaces on the instance's own class (as client-secret-check.ts does
// for compareClientSecret).
import type { Provider } from 'oidc-provider';
import type { ProviderClientSource } from './adapter.ts';

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

export function rememberCompiledClients(provider: Provider, clients: ProviderClientSource): void {
  const find = provider.Client.find.bind(provider.Client);
  const compiled = new WeakMap<object, Client>();
  provider.Client.find = async (id: string) => {
    const metadata = typeof id === 'string' ? await clients.findProviderMetadata(id) : undefined;
    if (!metadata) return find(id);
    let client = compiled.get(metadata);
    if (!client) {
      client = await find(id);
      if (client) compiled.set(metadata, client);
    }
    return client;
  };
}
