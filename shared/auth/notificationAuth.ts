import { errors, jwtVerify, type JWTPayload } from 'jose';
import { logSafe } from '../logSafe.js';
import { SigningKeys, SigningKeysUnavailable, type KeySet } from './signingKeys.js';
import { VerifiedTokens, type VerifiedToken } from './verifiedTokens.js';

/**
 * 401: the token itself is invalid (Graph does not redeliver a 4xx, and should not: it will never
 * pass). 503: the signing keys could not be had, so the token could not be judged; Graph
 * redelivers a 5xx, by when the keys may be back.
 */
export type AuthResult =
  | {
      ok: true;
      tenantId: string;
      /** Shared by every request that brings the same token: not to be changed. */
      claims: Readonly<JWTPayload>;
      /** Set once after a failed reload of the signing keys: verified with the last good ones. */
      keysWarning?: string;
    }
  | { ok: false; status: 401 | 503; reason: string };

export interface NotificationAuthenticator {
  /** Checks the `Authorization` header of a notification request. */
  authenticate(authorizationHeader: string | null): Promise<AuthResult>;
  /** Loads the signing keys now, so the first notification does not wait for them. Throws if they cannot be had. */
  preload(): Promise<void>;
}

export interface NotificationAuthOptions {
  openIdConfigUrl: string;
  /** The bot's app id: the audience Graph issues the token for. */
  audience: string;
  /** Minimum time between two key reloads asked for by requests (unknown key ids, old keys). */
  jwksCooldownMs?: number;
  /** Keys older than this are reloaded in the background. */
  jwksMaxAgeMs?: number;
  /** Time for fetching the OpenID configuration and the keys together. */
  fetchTimeoutMs?: number;
  now?: () => number;
}

// Graph signs call notifications as the Bot Framework; the Graph issuer is accepted as well.
const ISSUERS = ['https://api.botframework.com', 'https://graph.microsoft.com'];
const CLOCK_TOLERANCE_SECONDS = 5 * 60;

export class JwtNotificationAuthenticator implements NotificationAuthenticator {
  private readonly keys: SigningKeys;
  private readonly verified = new VerifiedTokens();
  private readonly verifying = new Map<string, Promise<Verification>>();

  constructor(private readonly options: NotificationAuthOptions) {
    this.keys = new SigningKeys({
      openIdConfigUrl: options.openIdConfigUrl,
      cooldownMs: options.jwksCooldownMs,
      maxAgeMs: options.jwksMaxAgeMs,
      fetchTimeoutMs: options.fetchTimeoutMs,
      now: options.now,
    });
  }

  async preload(): Promise<void> {
    await this.keys.get();
  }

  async authenticate(authorizationHeader: string | null): Promise<AuthResult> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorizationHeader ?? '');
    if (!match?.[1]) return { ok: false, status: 401, reason: 'missing Bearer token' };
    const verified = await this.verify(match[1]);
    if (!verified.ok) return verified;
    const keysWarning = this.keys.takeUnreportedFailure();
    return { ok: true, tenantId: verified.tenantId, claims: verified.claims, ...(keysWarning !== undefined && { keysWarning }) };
  }

  /**
   * A token seen before is taken as its verification left it while that still holds; one being
   * verified for another request is waited for (a burst's notifications carry the same token).
   */
  private async verify(token: string): Promise<Verification> {
    // Asked only for a token verified before: keys are then in hand, so `get` cannot throw. (A
    // token never seen is parsed first, so a malformed one is refused even with no keys.)
    if (this.verified.has(token)) {
      const known = this.verified.lookup(token, await this.keys.get(), Date.now());
      if (known) return { ok: true, ...known };
    }
    const underway = this.verifying.get(token);
    if (underway) return underway;
    const verifying = this.verifyNow(token).finally(() => this.verifying.delete(token));
    this.verifying.set(token, verifying);
    return verifying;
  }

  private async verifyNow(token: string): Promise<Verification> {
    let keysUsed: KeySet | undefined;
    try {
      const { payload } = await jwtVerify(
        token,
        async (header, flattened) => {
          const found = await this.keyFor(header, flattened);
          keysUsed = found.keys;
          return found.key;
        },
        {
          algorithms: ['RS256'],
          issuer: ISSUERS,
          audience: this.options.audience,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp'],
        },
      );
      const tenantId = payload['tid'];
      if (typeof tenantId !== 'string' || tenantId === '') return { ok: false, status: 401, reason: 'token has no tenant (tid) claim' };
      const verified: VerifiedToken = {
        tenantId,
        // Shared by every request that brings this token again.
        claims: Object.freeze(payload),
        keys: keysUsed!,
        // jose refuses a token once exp <= now - tolerance (in seconds); `exp` is required above.
        validUntilMs: (payload.exp! + CLOCK_TOLERANCE_SECONDS) * 1000,
      };
      this.verified.remember(token, verified);
      return { ok: true, ...verified };
    } catch (error) {
      return failure(error);
    }
  }

  /** The key for the token, and the set it came from. */
  private async keyFor(...args: Parameters<KeySet>): Promise<{ key: Awaited<ReturnType<KeySet>>; keys: KeySet }> {
    const keys = await this.keys.get();
    try {
      return { key: await keys(...args), keys };
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A key id the set lacks: a key rollover, or a made-up token.
      const newer = await this.keys.afterUnknownKey(keys, issuedAtMs(args[1]));
      if (!newer) throw error;
      return { key: await newer(...args), keys: newer };
    }
  }
}

type Verification = ({ ok: true } & VerifiedToken) | Extract<AuthResult, { ok: false }>;

function failure(error: unknown): Extract<AuthResult, { ok: false }> {
  if (error instanceof SigningKeysUnavailable) return { ok: false, status: 503, reason: error.message };
  // jose's messages can quote the token's own header (e.g. an unknown `crit` parameter),
  // which anyone can fill with line breaks: the reason is logged, so it is made safe here.
  if (error instanceof errors.JOSEError) return { ok: false, status: 401, reason: logSafe(`${error.code}: ${error.message}`) };
  throw error;
}

/** The token's `iat` in ms, read before verification (only to choose 401 or 503); undefined when absent. */
function issuedAtMs(token: { payload?: unknown } | undefined): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(typeof token?.payload === 'string' ? token.payload : '', 'base64url').toString('utf8')) as {
      iat?: unknown;
    };
    return typeof payload.iat === 'number' ? payload.iat * 1000 : undefined;
  } catch {
    return undefined;
  }
}
