import type { TokenCredential } from '@azure/identity';
import { LazyTokenCredential } from './lazyCredential.js';

/**
 * The app's managed identity, shared by storage reached by endpoint and by Graph when there is no
 * secret: user-assigned when a client id is configured, else system-assigned. `@azure/identity`
 * is loaded on its first token request (see `LazyTokenCredential`).
 */
export function createManagedIdentityCredential(clientId: string | undefined): TokenCredential {
  return new LazyTokenCredential(async () => {
    const { ManagedIdentityCredential } = await import('./identityCredentials.js');
    return clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId });
  });
}
