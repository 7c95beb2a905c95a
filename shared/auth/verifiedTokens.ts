import type { JWTPayload } from 'jose';
import type { KeySet } from './signingKeys.js';

/** A token that passed verification: what it proved, and what the proof rests on. */
export interface VerifiedToken {
  tenantId: string;
  claims: Readonly<JWTPayload>;
  /** The key set that verified it: a reload makes the token verified again. */
  keys: KeySet;
  /** When verification would first refuse it (its `exp` plus the clock tolerance), epoch ms. */
  validUntilMs: number;
}

/**
 * Tokens this process has verified, so a repeat is not verified again. A client of an OAuth token
 * service normally sends the token it holds until it nears expiry (an hour or so), and in the
 * benchmark's burst of incoming calls, which all carry one token, its RS256 verification was about
 * 4 % of the app's CPU (docs/performance.md). Whether Graph reuses its token this way is not
 * documented; if it sends a new one each time, this costs a lookup and saves nothing.
 *
 * A repeat is taken only as verification would take it again: the very same token string, checked
 * by the key set still in use, before its expiry (its signature, issuer and audience cannot change
 * for a given string; `nbf`, once passed, stays passed). Only verified tokens enter, so a sender
 * without a valid token cannot fill it; beyond `maxEntries` the oldest goes.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly maxEntries = 100) {}

  /** The token's verification, if it still holds with `keys` at `nowMs`. */
  lookup(token: string, keys: KeySet, nowMs: number): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.keys === keys && nowMs < entry.validUntilMs) return entry;
    this.entries.delete(token);
    return undefined;
  }

  /** Whether the token was verified before (it may since have expired or its keys been reloaded). */
  has(token: string): boolean {
    return this.entries.has(token);
  }

  remember(token: string, verified: VerifiedToken): void {
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, verified);
  }
}
