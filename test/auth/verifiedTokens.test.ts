import { createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { VerifiedTokens, type VerifiedToken } from '../../shared/auth/verifiedTokens.js';

const keys = createLocalJWKSet({ keys: [] });
const reloaded = createLocalJWKSet({ keys: [] });
const verified = (validUntilMs = 10_000, with_ = keys): VerifiedToken => ({ tenantId: 't', claims: {}, keys: with_, validUntilMs });

describe('VerifiedTokens', () => {
  it('finds a remembered token while its key set is in use and it has not expired', () => {
    const tokens = new VerifiedTokens();
    const entry = verified();
    tokens.remember('a', entry);
    expect(tokens.lookup('a', keys, 9_999)).toBe(entry);
    expect(tokens.lookup('b', keys, 0)).toBeUndefined();
  });

  it('forgets a token at its expiry', () => {
    const tokens = new VerifiedTokens();
    tokens.remember('a', verified(10_000));
    expect(tokens.lookup('a', keys, 10_000)).toBeUndefined();
    expect(tokens.has('a')).toBe(false);
  });

  it('forgets a token verified with another key set than the one in use', () => {
    const tokens = new VerifiedTokens();
    tokens.remember('a', verified());
    expect(tokens.lookup('a', reloaded, 0)).toBeUndefined();
    expect(tokens.has('a')).toBe(false);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const tokens = new VerifiedTokens(2);
    tokens.remember('a', verified());
    tokens.remember('b', verified());
    tokens.remember('a', verified());
    tokens.remember('c', verified());
    expect([tokens.has('a'), tokens.has('b'), tokens.has('c')]).toEqual([true, false, true]);
  });
});
