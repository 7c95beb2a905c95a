// What the bundle gives MSAL in place of `jsonwebtoken` (esbuild.options.mjs). MSAL imports it
// only to sign the client assertion of a certificate credential; the app's credentials (a client
// secret, a federated assertion, a managed identity: shared/identityCredentials.ts) never sign one,
// and loading the library, with semver and its other dependencies, cost every cold instance about
// 90 KB of code to read and run before its first answer.

export function sign(): never {
  throw new Error(
    'This build of the app cannot sign certificate credential assertions: jsonwebtoken is left out of the bundle (shared/identityCertificateSigning.ts)',
  );
}

export default { sign };
