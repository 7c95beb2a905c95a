import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

/**
 * The app's managed identity, shared by storage reached by endpoint and by Graph when there is no
 * secret: user-assigned when a client id is configured, else system-assigned.
 */
export function createManagedIdentityCredential(clientId: string | undefined): TokenCredential {
  return clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId });
}
