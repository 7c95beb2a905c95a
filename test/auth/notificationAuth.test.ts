import { generateKeyPair, SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtNotificationAuthenticator } from '../../shared/auth/notificationAuth.js';
import { GraphSimulator, SIM_BOT_APP_ID, SIM_TENANT_ID } from '../support/graphSimulator.js';
import { inject } from 'vitest';

let sim: GraphSimulator;
beforeAll(async () => {
  sim = await new GraphSimulator(inject('simulatorTls')).start();
});
afterAll(() => sim.stop());

const authenticator = (jwksCooldownMs?: number) =>
  new JwtNotificationAuthenticator({ openIdConfigUrl: sim.openIdConfigUrl, audience: SIM_BOT_APP_ID, jwksCooldownMs });
const now = () => Math.floor(Date.now() / 1000);
const jwksFetches = () => sim.requests.filter((r) => r.path === '/botframework/keys').length;

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
    expect(result).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it.each([
    ['an expired token', { exp: now() - 600 }, 'ERR_JWT_EXPIRED'],
    ['a token not yet valid', { nbf: now() + 600 }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['a token for another audience', { aud: 'someone-else' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['a token from another issuer', { iss: 'https://sts.windows.net/evil/' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['a token without a tenant', { tid: undefined }, 'no tenant (tid) claim'],
  ])('refuses %s', async (_name, claims, reason) => {
    const result = await authenticator().authenticate(`Bearer ${await sim.notificationToken(claims)}`);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it('refuses a token forged with another key under the real key id', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await sim.notificationToken({}, {}, privateKey);
    const result = await authenticator().authenticate(`Bearer ${forged}`);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('ERR_JWS_SIGNATURE_VERIFICATION_FAILED') });
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({ iss: 'https://api.botframework.com', aud: SIM_BOT_APP_ID, tid: SIM_TENANT_ID, exp: now() + 600 }),
    );
    const result = await authenticator().authenticate(`Bearer ${header}.${payload}.`);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('ERR_JOSE_ALG_NOT_ALLOWED') });
  });

  it('refuses an HS256 token, even one keyed with public material', async () => {
    const token = await new SignJWT({ tid: SIM_TENANT_ID })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://api.botframework.com')
      .setAudience(SIM_BOT_APP_ID)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('a-shared-secret-anyone-could-guess'));
    const result = await authenticator().authenticate(`Bearer ${token}`);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('ERR_JOSE_ALG_NOT_ALLOWED') });
  });
});

describe('signing keys', () => {
  it('fetches the keys once and reuses them', async () => {
    const auth = authenticator();
    const before = jwksFetches();
    for (let i = 0; i < 5; i++) expect((await auth.authenticate(`Bearer ${await sim.notificationToken()}`)).ok).toBe(true);
    expect(jwksFetches() - before).toBe(1);
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
