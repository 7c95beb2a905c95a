// The only credentials the app builds, imported from here so the bundle's identity chunk keeps
// these three (with MSAL's parts they use) and not the other twenty-odd `@azure/identity` exports.
export { ClientAssertionCredential, ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
