import { generateKeyPair, SignJWT, base64url } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { JwtNotificationAuthenticator, type NotificationAuthOptions } from '../../shared/auth/notificationAuth.js';
import { GraphSimulator, SIM_BOT_APP_ID, SIM_TENANT_ID } from '../../tools/graphSimulator.js';

let sim: GraphSimulator;
beforeAll(async () => {
  sim = await new GraphSimulator(inject('simulatorTls')).start();
});
afterAll(() => sim.stop());
afterEach(() => {
  sim.clearFaults();
  sim.jwksUriOverride = undefined;
  vi.useRealTimers();
});

const authenticator = (jwksCooldownMs?: number, options: Partial<NotificationAuthOptions> = {}) =>
  new JwtNotificationAuthenticator({ openIdConfigUrl: sim.openIdConfigUrl, audience: SIM_BOT_APP_ID, jwksCooldownMs, ...options });
const now = () => Math.floor(Date.now() / 1000);
const jwksFetches = () => sim.signerRequests('jwks').length;
const bearer = async (header: Record<string, unknown> = {}) => `Bearer ${await sim.notificationToken({}, header)}`;

describe('accepted tokens', () => {
  it.each([
    ['a Bot Framework token', {}, {}],
    ['a token with a cty: JWT header', {}, { cty: 'JWT' }],
    ['a token issued by Graph', { iss: 'https://graph.microsoft.com' }, {}],
    ['a token expired less than 5 minutes ago (clock skew)', { exp: now() - 240 }, {}],
    ['a token valid from 4 minutes in the future (clock skew)', { nbf: now() + 240 }, {}],
  ])('accepts %s', async (_name, claims, header) => {
    const result = await authenticator().authenticate(`Bearer ${await sim.notificationToken(claims, header)}`);
    expect(result).toMatchObject({ ok: true, tenantId: SIM_TENANT_ID });
  });
});

describe('refused tokens', () => {
  it.each([
    ['no header', null, 'missing Bearer token'],
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz', 'missing Bearer token'],
    ['garbage', 'Bearer not-a-jwt', 'ERR_JWS_INVALID'],
  ])('refuses %s', async (_name, header, reason) => {
    const result = await authenticator().authenticate(header);
    expect(result).toEqual({ ok: false, status: 401, reason: expect.stringContaining(reason) });
  });

  it.each([
    ['an expired token', { exp: now() - 600 }, 'ERR_JWT_EXPIRED'],
    ['a token not yet valid', { nbf: now() + 600 }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['a token for another audience', { aud: 'someone-else' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['a token from another issuer', { iss: 'https://sts.windows.net/evil/' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['a token without a tenant', { tid: undefined }, 'no tenant (tid) claim'],
  ])('refuses %s', async (_name, claims, reason) => {
    const result = await authenticator().authenticate(`Bearer ${await sim.notificationToken(claims)}`);
    expect(result).toEqual({ ok: false, status: 401, reason: expect.stringContaining(reason) });
  });

  it('refuses a token forged with another key under the real key id', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await sim.notificationToken({}, {}, privateKey);
    const result = await authenticator().authenticate(`Bearer ${forged}`);
    expect(result).toEqual({ ok: false, status: 401, reason: expect.stringContaining('ERR_JWS_SIGNATURE_VERIFICATION_FAILED') });
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({ iss: 'https://api.botframework.com', aud: SIM_BOT_APP_ID, tid: SIM_TENANT_ID, exp: now() + 600 }),
    );
    const result = await authenticator().authenticate(`Bearer ${header}.${payload}.`);
    expect(result).toEqual({ ok: false, status: 401, reason: expect.stringContaining('ERR_JOSE_ALG_NOT_ALLOWED') });
  });

  it('refuses an HS256 token, even one keyed with public material', async () => {
    const token = await new SignJWT({ tid: SIM_TENANT_ID })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://api.botframework.com')
      .setAudience(SIM_BOT_APP_ID)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('a-shared-secret-anyone-could-guess'));
    const result = await authenticator().authenticate(`Bearer ${token}`);
    expect(result).toEqual({ ok: false, status: 401, reason: expect.stringContaining('ERR_JOSE_ALG_NOT_ALLOWED') });
  });
});

describe('signing keys', () => {
  it('fetches the keys once and reuses them', async () => {
    const auth = authenticator();
    const before = jwksFetches();
    for (let i = 0; i < 5; i++) expect((await auth.authenticate(`Bearer ${await sim.notificationToken()}`)).ok).toBe(true);
    expect(jwksFetches() - before).toBe(1);
  });

  it("follows the signer's documents where they moved, over https, as fetch would", async () => {
    // The OpenID configuration by a relative Location, the key set by an absolute one.
    sim.failSigner('openIdConfig', { status: 301, location: '/botframework/.well-known/openidconfiguration', times: 1 });
    sim.failSigner('jwks', { status: 307, location: `${sim.origin}/botframework/keys`, times: 2 });
    const before = { config: sim.signerRequests('openIdConfig').length, keys: jwksFetches() };
    expect(await authenticator().authenticate(await bearer())).toMatchObject({ ok: true });
    expect(sim.signerRequests('openIdConfig').length - before.config).toBe(2);
    expect(jwksFetches() - before.keys).toBe(3);
  });

  it('reads a document that starts with a byte order mark, as fetch would', async () => {
    const config = JSON.stringify({ jwks_uri: `${sim.origin}/botframework/keys` });
    sim.failSigner('openIdConfig', { status: 200, body: `\uFEFF${config}`, times: 1 });
    expect(await authenticator().authenticate(await bearer())).toMatchObject({ ok: true });
  });

  it('reloads the keys when a token names an unknown key id (key rollover)', async () => {
    const auth = authenticator(0);
    expect((await auth.authenticate(`Bearer ${await sim.notificationToken()}`)).ok).toBe(true);
    await sim.rotateSigningKey();
    const before = jwksFetches();
    expect((await auth.authenticate(`Bearer ${await sim.notificationToken()}`)).ok).toBe(true);
    expect(jwksFetches() - before).toBe(1);
  });

  it('does not reload more than once per cool-down however many unknown key ids arrive', async () => {
    const auth = authenticator(60_000);
    expect((await auth.authenticate(`Bearer ${await sim.notificationToken()}`)).ok).toBe(true);
    const before = jwksFetches();
    const { privateKey } = await generateKeyPair('RS256');
    for (let i = 0; i < 5; i++) {
      const token = await sim.notificationToken({}, { kid: `unknown-${i}` }, privateKey);
      expect((await auth.authenticate(`Bearer ${token}`)).ok).toBe(false);
    }
    expect(jwksFetches() - before).toBe(0);
  });
});

describe('a token seen before', () => {
  it('accepts it again, with the same tenant and claims', async () => {
    const auth = authenticator();
    const token = await bearer();
    const first = await auth.authenticate(token);
    expect(first).toMatchObject({ ok: true, tenantId: SIM_TENANT_ID });
    const again = await Promise.all([auth.authenticate(token), auth.authenticate(token)]);
    for (const result of again) expect(result).toEqual({ ok: true, tenantId: SIM_TENANT_ID, claims: first.ok ? first.claims : undefined });
  });

  it('verifies its signature once, for concurrent requests and repeats alike, and again after the keys are reloaded', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // jose checks RS256 signatures with WebCrypto.
    const verify = vi.spyOn(crypto.subtle, 'verify');
    try {
      const auth = authenticator();
      const token = await bearer();
      const results = await Promise.all([auth.authenticate(token), auth.authenticate(token), auth.authenticate(token)]);
      expect(await auth.authenticate(token)).toMatchObject({ ok: true });
      for (const result of results) expect(result).toMatchObject({ ok: true });
      expect(verify).toHaveBeenCalledTimes(1);

      // After the max age the keys are reloaded in the background; the reloaded set verifies the token again.
      vi.setSystemTime(Date.now() + 61 * 60_000);
      const fetches = jwksFetches();
      expect(await auth.authenticate(token)).toMatchObject({ ok: true });
      await vi.waitFor(() => expect(jwksFetches()).toBe(fetches + 1));
      await vi.waitFor(async () => {
        expect(await auth.authenticate(token)).toMatchObject({ ok: true });
        expect(verify).toHaveBeenCalledTimes(2);
      });
    } finally {
      verify.mockRestore();
    }
  });

  it('answers 503 to every request of a burst whose key load failed, and verifies the next one afresh', async () => {
    const auth = authenticator(0);
    const token = await bearer();
    sim.failSigner('jwks', { status: 500, times: 1 });
    const results = await Promise.all([auth.authenticate(token), auth.authenticate(token), auth.authenticate(token)]);
    for (const result of results) expect(result).toMatchObject({ ok: false, status: 503 });
    expect(await auth.authenticate(token)).toMatchObject({ ok: true, tenantId: SIM_TENANT_ID });
  });

  it('refuses it once it has expired, as verification would', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const auth = authenticator();
    const token = `Bearer ${await sim.notificationToken({ exp: now() + 60 })}`;
    expect(await auth.authenticate(token)).toMatchObject({ ok: true });
    // Within the 5-minute clock tolerance it still passes; past it, it is refused.
    vi.setSystemTime(Date.now() + (60 + 4 * 60) * 1000);
    expect(await auth.authenticate(token)).toMatchObject({ ok: true });
    vi.setSystemTime(Date.now() + 2 * 60 * 1000);
    expect(await auth.authenticate(token)).toEqual({ ok: false, status: 401, reason: expect.stringContaining('ERR_JWT_EXPIRED') });
  });

  it('refuses it once the keys were reloaded without the key that signed it', async () => {
    const auth = authenticator(0);
    const old = await bearer();
    expect(await auth.authenticate(old)).toMatchObject({ ok: true });
    // A rollover: the set now holds only the new key, and a token signed with it makes the app reload.
    await sim.rotateSigningKey();
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
    expect(await auth.authenticate(old)).toEqual({ ok: false, status: 401, reason: expect.stringContaining('ERR_JWKS_NO_MATCHING_KEY') });
  });

  it('does not take a refused token for a verified one when it comes again', async () => {
    const auth = authenticator();
    const token = `Bearer ${await sim.notificationToken({ aud: 'someone-else' })}`;
    for (let i = 0; i < 2; i++) {
      expect(await auth.authenticate(token)).toEqual({
        ok: false,
        status: 401,
        reason: expect.stringContaining('ERR_JWT_CLAIM_VALIDATION_FAILED'),
      });
    }
  });
});

describe('when the signing keys cannot be had (503, not 401: Graph redelivers a 5xx)', () => {
  it.each([
    ['the OpenID configuration answers 500', 'openIdConfig', { status: 500 }, 'OpenID configuration'],
    ['the OpenID configuration answers 404', 'openIdConfig', { status: 404 }, 'answered 404'],
    ['the OpenID configuration is not JSON', 'openIdConfig', { status: 200, body: '<html>maintenance</html>' }, 'not JSON'],
    ['the OpenID configuration names no jwks_uri', 'openIdConfig', { status: 200, body: '{"issuer":"x"}' }, 'names no valid jwks_uri'],
    ['the key set answers 503', 'jwks', { status: 503 }, 'JWKS'],
    ['the key set is not JSON', 'jwks', { status: 200, body: 'keys' }, 'not JSON'],
    ['the key set is not a key set', 'jwks', { status: 200, body: '{"keys":"none"}' }, 'is not a key set'],
    ['the key set is empty', 'jwks', { status: 200, body: '{"keys":[]}' }, 'holds no keys'],
    ['the key set redirects to plain http', 'jwks', { status: 302, location: 'http://keys.example.test/keys' }, 'which is not https'],
    ['the key set redirects nowhere (no Location)', 'jwks', { status: 302 }, 'answered 302'],
    ['the key set redirects to what is not a URL', 'jwks', { status: 302, location: 'https://[::1' }, 'which is not a URL'],
  ] as const)('answers 503 on a cold start when %s', async (_name, document, fault, reason) => {
    sim.failSigner(document, { ...fault, times: 1 });
    const result = await authenticator().authenticate(await bearer());
    expect(result).toEqual({ ok: false, status: 503, reason: expect.stringContaining(reason) });
  });

  it('answers 503 when the OpenID configuration redirects without end', async () => {
    sim.failSigner('openIdConfig', { status: 302, location: '/botframework/.well-known/openidconfiguration', times: Infinity });
    const before = sim.signerRequests('openIdConfig').length;
    const result = await authenticator().authenticate(await bearer());
    expect(result).toEqual({ ok: false, status: 503, reason: expect.stringContaining('was redirected more than 5 times') });
    // The first request and five redirects followed.
    expect(sim.signerRequests('openIdConfig').length - before).toBe(6);
  });

  it('answers 503 on a cold start when the OpenID configuration does not answer in time', async () => {
    sim.failSigner('openIdConfig', { status: 200, latencyMs: 2_000, times: 1 });
    const result = await authenticator(undefined, { fetchTimeoutMs: 100 }).authenticate(await bearer());
    expect(result).toEqual({ ok: false, status: 503, reason: expect.stringContaining('no answer in time') });
  });

  it('answers 503 when the OpenID configuration names a jwks_uri that is not https, and says so', async () => {
    sim.jwksUriOverride = `${sim.origin.replace('https:', 'http:')}/botframework/keys`;
    const before = jwksFetches();
    const result = await authenticator().authenticate(await bearer());
    expect(result).toEqual({ ok: false, status: 503, reason: expect.stringContaining('which is not https') });
    expect(jwksFetches()).toBe(before);
  });

  it('recovers once the endpoint is back', async () => {
    sim.failSigner('openIdConfig', { status: 500, times: 1 });
    const auth = authenticator(0);
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: false, status: 503 });
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
  });

  it('loads the keys once for a burst of first notifications', async () => {
    const auth = authenticator();
    const before = { config: sim.signerRequests('openIdConfig').length, jwks: jwksFetches() };
    const results = await Promise.all(Array.from({ length: 10 }, async () => auth.authenticate(await bearer())));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(sim.signerRequests('openIdConfig').length - before.config).toBe(1);
    expect(jwksFetches() - before.jwks).toBe(1);
  });
});

describe('keeping the last good keys', () => {
  it('goes on accepting tokens with the keys it has when their reload after the max age fails', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const auth = authenticator();
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
    sim.failSigner('jwks', { status: 500, times: Infinity });
    sim.failSigner('openIdConfig', { status: 500, times: Infinity });

    vi.setSystemTime(Date.now() + 61 * 60_000);
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true, tenantId: SIM_TENANT_ID });
    vi.setSystemTime(Date.now() + 5 * 60 * 60_000);
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true, tenantId: SIM_TENANT_ID });
  });

  it('reloads old keys in the background: the notification is answered before the reload is', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const auth = authenticator(undefined, { fetchTimeoutMs: 30_000 });
    const token = await bearer();
    expect(await auth.authenticate(token)).toMatchObject({ ok: true });
    const before = jwksFetches();
    sim.failSigner('jwks', { status: 200, latencyMs: 5_000, times: 1 });
    vi.setSystemTime(Date.now() + 61 * 60_000);

    expect(await auth.authenticate(token)).toMatchObject({ ok: true });
    await vi.waitFor(() => expect(jwksFetches()).toBe(before + 1));
    // Answered while the reload's own request is still waiting for its reply.
    expect(sim.signerRequests('jwks').at(-1)!.status).toBe(0);
  });

  it('answers 401 for an unknown key id when the keys were just fetched and it is not among them', async () => {
    const auth = authenticator(0);
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
    const { privateKey } = await generateKeyPair('RS256');
    const token = await sim.notificationToken({}, { kid: 'made-up' }, privateKey);
    expect(await auth.authenticate(`Bearer ${token}`)).toEqual({
      ok: false,
      status: 401,
      reason: expect.stringContaining('ERR_JWKS_NO_MATCHING_KEY'),
    });
  });

  it('answers 503 for an unknown key id when the keys cannot be reloaded (it may be a new key)', async () => {
    const auth = authenticator(0);
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
    await sim.rotateSigningKey();
    sim.failSigner('jwks', { status: 502, times: 1 });
    expect(await auth.authenticate(await bearer())).toEqual({ ok: false, status: 503, reason: expect.stringContaining('JWKS') });
    // Redelivered once the endpoint is back, the same kind of token passes.
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
  });

  it('answers 503, not 401, during the cool-down for a token issued after the keys in hand were fetched', async () => {
    // Anyone can keep the cool-down going with made-up key ids; a real rollover meanwhile must not be refused for good.
    const auth = authenticator(60_000);
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const newer = await sim.notificationToken({ iat: now + 5 }, { kid: 'rolled-over' }, privateKey);
    expect(await auth.authenticate(`Bearer ${newer}`)).toMatchObject({ ok: false, status: 503 });
    const older = await sim.notificationToken({ iat: now - 120 }, { kid: 'made-up' }, privateKey);
    expect(await auth.authenticate(`Bearer ${older}`)).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 503, without another fetch, for an unknown key id during the cool-down after a failed reload', async () => {
    const auth = authenticator(60_000);
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: true });
    vi.useFakeTimers({ toFake: ['Date'] });
    sim.failSigner('jwks', { status: 500, times: Infinity });
    vi.setSystemTime(Date.now() + 61 * 60_000);
    await auth.authenticate(await bearer());
    await vi.waitFor(() => expect(sim.signerRequests('jwks').at(-1)?.status).toBe(500));
    const fetches = jwksFetches();
    await sim.rotateSigningKey();
    expect(await auth.authenticate(await bearer())).toMatchObject({ ok: false, status: 503 });
    expect(jwksFetches()).toBe(fetches);
  });
});

describe('the refusal reason is safe to log', () => {
  it('escapes line breaks a token header smuggles into the reason, and caps its length', async () => {
    const name = `x\r\n[Error] Notification accepted ${'y'.repeat(500)}`;
    // Anyone can send this: the header is checked before any signature.
    const header = base64url.encode(JSON.stringify({ alg: 'RS256', typ: 'JWT', crit: [name], [name]: true }));
    const payload = base64url.encode(JSON.stringify({ aud: SIM_BOT_APP_ID, exp: now() + 600 }));
    const result = await authenticator().authenticate(`Bearer ${header}.${payload}.c2lnbmF0dXJl`);
    expect(result).toMatchObject({ ok: false, status: 401 });
    const reason = (result as { reason: string }).reason;
    expect(reason).toContain('ERR_JOSE_NOT_SUPPORTED');
    expect(reason).not.toMatch(/[\r\n]/);
    expect(reason).toContain('x\\u{d}\\u{a}[Error]');
    expect(reason.length).toBeLessThan(250);
  });
});
