import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

// Tokens are refreshed this long before they expire, so no request leaves with one about to lapse.
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Hands out the same token until it is due for refresh, with at most one refresh under way.
 * The Graph client asks for a token on every request; the identity library's own cache answers
 * correctly but costs a cache lookup with URL parsing and logging each time, which at hundreds
 * of keepAlives a second is a measurable share of the sweep's CPU (see docs/performance.md).
 */
export class CachedTokenCredential implements TokenCredential {
  private readonly tokens = new Map<string, AccessToken>();
  private readonly refreshes = new Map<string, Promise<AccessToken | null>>();

  constructor(
    private readonly inner: TokenCredential,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    // A claims challenge or another tenant asks for a different token: let the inner credential decide.
    if (options?.claims || options?.tenantId) return this.inner.getToken(scopes, options);
    const key = Array.isArray(scopes) ? scopes.join(' ') : scopes;
    const cached = this.tokens.get(key);
    if (cached && this.now() < refreshAt(cached)) return cached;

    let refresh = this.refreshes.get(key);
    if (!refresh) {
      refresh = this.inner.getToken(scopes, options).finally(() => this.refreshes.delete(key));
      this.refreshes.set(key, refresh);
    }
    const token = await refresh;
    if (token) this.tokens.set(key, token);
    return token;
  }
}

function refreshAt(token: AccessToken): number {
  return Math.min(token.refreshAfterTimestamp ?? Infinity, token.expiresOnTimestamp - REFRESH_MARGIN_MS);
}
