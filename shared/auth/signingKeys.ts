import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import * as z from '../schema.js';
import { getJsonDocument } from './jsonDocument.js';

/**
 * The signing keys could not be had (an endpoint failed, timed out or served something unusable),
 * so a token cannot be judged either way: the notification must be answered 5xx, which Graph
 * redelivers, not 401, which it drops.
 */
export class SigningKeysUnavailable extends Error {
  override readonly name = 'SigningKeysUnavailable';
}

/** Resolves the key for a token's header, as jose's `jwtVerify` asks for it. */
export type KeySet = ReturnType<typeof createLocalJWKSet>;

export interface SigningKeysOptions {
  /** The OpenID configuration whose `jwks_uri` names the key set. */
  openIdConfigUrl: string;
  /** Keys older than this are refreshed in the background while they go on being used. */
  maxAgeMs?: number;
  /** Minimum time between two fetches asked for by requests (unknown key id, old keys). */
  cooldownMs?: number;
  /** Time for both documents together. */
  fetchTimeoutMs?: number;
  now?: () => number;
}

// Bot Framework rolls its signing keys over from time to time and publishes a new key before it
// signs with it, so a set a day old is normally still good:
// https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication
const MAX_AGE_MS = 60 * 60 * 1000;
const COOLDOWN_MS = 30 * 1000;
// With no keys at all every notification is refused, so a failed first load is retried sooner.
const NO_KEYS_RETRY_MS = 5 * 1000;
// The fetch sits on the path of a notification whose answer Graph waits for (15 s for an
// incoming call), so a slow endpoint must fail fast into a 503 that Graph redelivers.
const FETCH_TIMEOUT_MS = 5 * 1000;

const openIdConfigSchema = z.looseObject({ jwks_uri: z.url() });

/**
 * The notification signing keys, kept in this process: loaded once, refreshed in the background
 * when old, and refreshed at once (at most once per cool-down) when a token names a key the set
 * lacks. A failed refresh keeps the last good set, so a blip at the key endpoint refuses nothing
 * that the known keys can verify.
 */
export class SigningKeys {
  private current: { keys: KeySet; fetchedAt: number } | undefined;
  private refreshing: Promise<void> | undefined;
  private lastAttempt: { at: number; error: string | undefined } | undefined;
  /** A failed reload while older keys stayed in use, not yet reported. */
  private unreported: string | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SigningKeysOptions) {
    // Looked up on each call, so a test that moves the clock moves this one too.
    this.now = options.now ?? (() => Date.now());
  }

  /** The keys to verify with, loading them if none are known yet. Throws `SigningKeysUnavailable`. */
  async get(): Promise<KeySet> {
    if (!this.current) {
      await this.refreshUnlessCoolingDown();
      const loaded = this.currentKeys();
      if (!loaded) throw this.unavailable();
      return loaded;
    }
    if (this.now() - this.current.fetchedAt >= (this.options.maxAgeMs ?? MAX_AGE_MS)) {
      // Not awaited: this request goes on with the keys in hand. A refresh never rejects.
      void this.refreshUnlessCoolingDown();
    }
    return this.current.keys;
  }

  /**
   * A token named a key that `tried` lacks. Returns a newer set to try again with; undefined when
   * the keys were fetched successfully and recently enough that the token's key is simply not one
   * of them (an invalid token); throws `SigningKeysUnavailable` when the last fetch failed, since
   * the key may well exist.
   */
  async afterUnknownKey(tried: KeySet, issuedAtMs?: number): Promise<KeySet | undefined> {
    await this.refreshUnlessCoolingDown();
    const latest = this.currentKeys();
    if (latest && latest !== tried) return latest;
    if (this.lastAttempt?.error !== undefined) throw this.unavailable();
    // Within the cool-down no reload was made. A token issued after the keys in hand were fetched
    // may be signed with a key published since (a rollover); anyone can keep the cool-down going
    // with made-up key ids, so such a token gets a 503 (Graph redelivers it) rather than a 401.
    if (issuedAtMs === undefined || (this.current && issuedAtMs > this.current.fetchedAt)) {
      throw new SigningKeysUnavailable(
        'signing keys unavailable: the token names a key newer than the keys in hand, and a reload is cooling down',
      );
    }
    return undefined;
  }

  /** A reload that failed while the last good keys stayed in use, once, for the caller to log. */
  takeUnreportedFailure(): string | undefined {
    const failure = this.unreported;
    this.unreported = undefined;
    return failure;
  }

  // Read through a method: the refresh awaited above may have replaced the set.
  private currentKeys(): KeySet | undefined {
    return this.current?.keys;
  }

  private unavailable(): SigningKeysUnavailable {
    return new SigningKeysUnavailable(`signing keys unavailable: ${this.lastAttempt?.error ?? 'not loaded yet'}`);
  }

  /** Joins a refresh under way, or starts one unless the last attempt was too recent. */
  private refreshUnlessCoolingDown(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const cooldownMs = this.options.cooldownMs ?? COOLDOWN_MS;
    const cooldown = this.current ? cooldownMs : Math.min(cooldownMs, NO_KEYS_RETRY_MS);
    if (this.lastAttempt && this.now() - this.lastAttempt.at < cooldown) return Promise.resolve();
    this.refreshing = this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<void> {
    const at = this.now();
    try {
      const keys = await this.fetchKeySet();
      this.current = { keys, fetchedAt: this.now() };
      this.lastAttempt = { at, error: undefined };
    } catch (error) {
      // Kept, not thrown: it becomes the reason of a 503, or a warning while older keys serve.
      this.lastAttempt = { at, error: error instanceof Error ? error.message : String(error) };
      if (this.current) this.unreported = this.lastAttempt.error;
    }
  }

  private async fetchKeySet(): Promise<KeySet> {
    const deadline = AbortSignal.timeout(this.options.fetchTimeoutMs ?? FETCH_TIMEOUT_MS);
    const url = this.options.openIdConfigUrl;
    const config = openIdConfigSchema.safeParse(await getJsonDocument(url, 'OpenID configuration', deadline));
    if (!config.success) throw new Error(`OpenID configuration ${url} names no valid jwks_uri`);
    const jwksUri = config.data.jwks_uri;
    if (new URL(jwksUri).protocol !== 'https:') {
      throw new Error(`OpenID configuration ${url} names jwks_uri ${jwksUri}, which is not https: keys fetched that way prove nothing`);
    }
    const jwks = await getJsonDocument(jwksUri, 'JWKS', deadline);
    let keys: KeySet;
    try {
      keys = createLocalJWKSet(jwks as JSONWebKeySet);
    } catch (error) {
      throw new Error(`JWKS ${jwksUri} is not a key set: ${error instanceof Error ? error.message : String(error)}`);
    }
    if ((jwks as JSONWebKeySet).keys.length === 0) throw new Error(`JWKS ${jwksUri} holds no keys`);
    return keys;
  }
}
