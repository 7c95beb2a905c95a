import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { untilAborted } from '../deadline.js';

// Tokens are refreshed this long before they expire, so no request leaves with one about to lapse.
const REFRESH_MARGIN_MS = 5 * 60_000;
// After a failed refresh, while the token in hand still works, the next attempt waits this long:
// hundreds of keepAlives a second must not become as many token requests to an ailing Entra.
const RETRY_REFRESH_AFTER_MS = 10_000;

/**
 * Hands out the same token until it is due for refresh, with at most one refresh under way.
 * The Graph client asks for a token on every request; the identity library's own cache answers
 * correctly but costs a cache lookup with URL parsing and logging each time, which at hundreds
 * of keepAlives a second is a measurable share of the sweep's CPU (see docs/performance.md).
 */
export class CachedTokenCredential implements TokenCredential {
  private readonly tokens = new Map<string, AccessToken>();
  private readonly refreshes = new Map<string, Promise<AccessToken | null>>();
  private readonly failedRefreshAt = new Map<string, number>();

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
    if (
      cached &&
      this.now() < cached.expiresOnTimestamp &&
      this.now() < (this.failedRefreshAt.get(key) ?? -Infinity) + RETRY_REFRESH_AFTER_MS
    ) {
      return cached;
    }

    let refresh = this.refreshes.get(key);
    if (!refresh) {
      // Shared by every caller that comes while it is under way, so no caller's own abort signal
      // (the warm-up's, one request's deadline) may end it for the others: each waits on its own.
      const { abortSignal: _, ...shared } = options ?? {};
      refresh = this.inner.getToken(scopes, shared).finally(() => this.refreshes.delete(key));
      this.refreshes.set(key, refresh);
    }
    let token: AccessToken | null;
    try {
      token = await untilAborted(refresh, options?.abortSignal);
    } catch (error) {
      // A token that has not expired yet still works: an Entra outage in the last minutes of a
      // token's life must not stop every keepAlive. The next request tries the refresh again.
      if (!options?.abortSignal?.aborted) this.failedRefreshAt.set(key, this.now());
      if (cached && this.now() < cached.expiresOnTimestamp && !options?.abortSignal?.aborted) return cached;
      throw error;
    }
    this.failedRefreshAt.delete(key);
    if (token) this.tokens.set(key, token);
    return token;
  }
}

function refreshAt(token: AccessToken): number {
  return Math.min(token.refreshAfterTimestamp ?? Infinity, token.expiresOnTimestamp - REFRESH_MARGIN_MS);
}
