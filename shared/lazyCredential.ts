import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/**
 * A credential built on its first token request, from a module loaded then: `@azure/identity`
 * (with MSAL) is the largest part of the app, and loading it with the entry file would put its
 * parse and compile in front of every cold instance's first answer. Loaded instead in the
 * warm-up hook, it overlaps with the signing-key fetch (see docs/performance.md).
 */
export class LazyTokenCredential implements TokenCredential {
  private inner: Promise<TokenCredential> | undefined;

  constructor(private readonly load: () => Promise<TokenCredential>) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    // A failed load (a broken install) is not kept: the next request tries again.
    this.inner ??= this.load().catch((error: unknown) => {
      this.inner = undefined;
      throw error;
    });
    return (await this.inner).getToken(scopes, options);
  }
}
