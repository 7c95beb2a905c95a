import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { CachedTokenCredential } from '../../shared/graph/cachedTokenCredential.js';

const HOUR = 3_600_000;
const SCOPE = 'https://graph.microsoft.com/.default';

/** An identity source that issues numbered tokens valid for an hour from `now`. */
class IssuingCredential implements TokenCredential {
  issued = 0;
  pending: Array<() => void> = [];
  hold = false;
  constructor(private readonly now: () => number) {}
  async getToken(_scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    if (this.hold) await new Promise<void>((resolve) => this.pending.push(resolve));
    this.issued++;
    return { token: `token-${this.issued}${options?.claims ? '-claims' : ''}`, expiresOnTimestamp: this.now() + HOUR };
  }
}

describe('CachedTokenCredential', () => {
  it('reuses a token until five minutes before it expires, then fetches a new one', async () => {
    let now = 1_000_000;
    const inner = new IssuingCredential(() => now);
    const cached = new CachedTokenCredential(inner, () => now);

    expect((await cached.getToken(SCOPE))!.token).toBe('token-1');
    now += HOUR - 5 * 60_000 - 1;
    expect((await cached.getToken(SCOPE))!.token).toBe('token-1');
    now += 1;
    expect((await cached.getToken(SCOPE))!.token).toBe('token-2');
    expect(inner.issued).toBe(2);
  });

  it('asks the inner credential once for many concurrent requests', async () => {
    const inner = new IssuingCredential(Date.now);
    inner.hold = true;
    const cached = new CachedTokenCredential(inner);
    const all = Promise.all(Array.from({ length: 50 }, () => cached.getToken([SCOPE])));
    await new Promise((r) => setImmediate(r));
    inner.pending.forEach((release) => release());
    expect(new Set((await all).map((t) => t!.token))).toEqual(new Set(['token-1']));
    expect(inner.issued).toBe(1);
  });

  it('passes a claims challenge through instead of answering from the cache', async () => {
    const inner = new IssuingCredential(Date.now);
    const cached = new CachedTokenCredential(inner);
    await cached.getToken(SCOPE);
    expect((await cached.getToken(SCOPE, { claims: 'e30=' }))!.token).toBe('token-2-claims');
    expect((await cached.getToken(SCOPE))!.token).toBe('token-1');
  });

  it('tries again after a failed refresh', async () => {
    let fail = true;
    const inner: TokenCredential = {
      getToken: async () => {
        if (fail) throw new Error('token endpoint unreachable');
        return { token: 'recovered', expiresOnTimestamp: Date.now() + HOUR };
      },
    };
    const cached = new CachedTokenCredential(inner);
    await expect(cached.getToken(SCOPE)).rejects.toThrow('unreachable');
    fail = false;
    expect((await cached.getToken(SCOPE))!.token).toBe('recovered');
  });

  it('keeps using a token that has not expired when its refresh fails', async () => {
    let now = 1_000_000;
    let fail = false;
    const inner: TokenCredential = {
      getToken: () =>
        fail ? Promise.reject(new Error('Entra unreachable')) : Promise.resolve({ token: 'first', expiresOnTimestamp: now + HOUR }),
    };
    let asked = 0;
    const counting: TokenCredential = { getToken: (...args) => (asked++, inner.getToken(...args)) };
    const cached = new CachedTokenCredential(counting, () => now);
    await cached.getToken(SCOPE);
    fail = true;
    now += HOUR - 60_000; // inside the refresh margin, not yet expired
    expect((await cached.getToken(SCOPE))!.token).toBe('first');
    // Many requests in the next seconds: no new attempt on the ailing token service until 10 s on.
    for (let i = 0; i < 20; i++) expect((await cached.getToken(SCOPE))!.token).toBe('first');
    expect(asked).toBe(2);
    now += 10_000;
    expect((await cached.getToken(SCOPE))!.token).toBe('first');
    expect(asked).toBe(3);
    now += 50_000; // expired
    await expect(cached.getToken(SCOPE)).rejects.toThrow('Entra unreachable');
  });

  it("lets no caller's abort end the refresh the others wait on", async () => {
    const inner = new IssuingCredential(Date.now);
    inner.hold = true;
    const cached = new CachedTokenCredential(inner);
    const first = new AbortController();
    const abandoned = cached.getToken(SCOPE, { abortSignal: first.signal });
    const patient = cached.getToken(SCOPE);
    first.abort(new Error('warm-up over'));
    await expect(abandoned).rejects.toThrow('warm-up over');
    await new Promise((r) => setImmediate(r));
    inner.pending.forEach((release) => release());
    expect((await patient)!.token).toBe('token-1');
    expect(inner.issued).toBe(1);
  });
});
