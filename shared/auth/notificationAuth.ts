import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';

export type AuthResult = { ok: true; tenantId: string; claims: JWTPayload } | { ok: false; reason: string };

export interface NotificationAuthenticator {
  /** Checks the `Authorization` header of a notification request. */
  authenticate(authorizationHeader: string | null): Promise<AuthResult>;
}

export interface NotificationAuthOptions {
  openIdConfigUrl: string;
  /** The bot's app id: the audience Graph issues the token for. */
  audience: string;
  /** Minimum time between two key reloads triggered by unknown key ids. */
  jwksCooldownMs?: number;
}

// Graph signs call notifications as the Bot Framework; the Graph issuer is accepted as well.
const ISSUERS = ['https://api.botframework.com', 'https://graph.microsoft.com'];
const CLOCK_TOLERANCE_SECONDS = 5 * 60;
// Keys are reloaded this often, and at once (at most every cool-down) when a token names an unknown kid.
const JWKS_MAX_AGE_MS = 60 * 60 * 1000;
const JWKS_COOLDOWN_MS = 30 * 1000;
const OPENID_FETCH_TIMEOUT_MS = 5_000;

const openIdConfigSchema = z.looseObject({ jwks_uri: z.url() });

export class JwtNotificationAuthenticator implements NotificationAuthenticator {
  private keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly options: NotificationAuthOptions) {}

  async authenticate(authorizationHeader: string | null): Promise<AuthResult> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorizationHeader ?? '');
    if (!match?.[1]) return { ok: false, reason: 'missing Bearer token' };
    try {
      const { payload } = await jwtVerify(match[1], await this.signingKeys(), {
        algorithms: ['RS256'],
        issuer: ISSUERS,
        audience: this.options.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      });
      const tenantId = payload['tid'];
      if (typeof tenantId !== 'string' || tenantId === '') return { ok: false, reason: 'token has no tenant (tid) claim' };
      return { ok: true, tenantId, claims: payload };
    } catch (error) {
      if (error instanceof errors.JOSEError) return { ok: false, reason: `${error.code}: ${error.message}` };
      throw error;
    }
  }

  private signingKeys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    // The OpenID document is read once per process; a failed read is forgotten so the next
    // request tries again instead of failing forever.
    this.keys ??= this.loadKeySet().catch((error: unknown) => {
      this.keys = undefined;
      throw error;
    });
    return this.keys;
  }

  private async loadKeySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const url = this.options.openIdConfigUrl;
    const response = await fetch(url, { signal: AbortSignal.timeout(OPENID_FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`OpenID configuration ${url} answered ${response.status}`);
    const config = openIdConfigSchema.safeParse(await response.json());
    if (!config.success) throw new Error(`OpenID configuration ${url} has no valid jwks_uri`);
    return createRemoteJWKSet(new URL(config.data.jwks_uri), {
      cacheMaxAge: JWKS_MAX_AGE_MS,
      cooldownDuration: this.options.jwksCooldownMs ?? JWKS_COOLDOWN_MS,
    });
  }
}
