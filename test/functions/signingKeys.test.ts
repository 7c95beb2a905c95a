import { base64url } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { incomingCallNotification, SIM_BOT_APP_ID } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  vi.useRealTimers();
  await h.stop();
});

describe('the notification signing keys at the notifications function', () => {
  it('answers 503 (redelivered by Graph), not 401, when the keys cannot be fetched, and logs why as an error', async () => {
    h = await startHarness();
    h.sim.failSigner('openIdConfig', { status: 500, times: 1 });
    const call = h.sim.placeIncomingCall();
    const response = await h.post(incomingCallNotification(call.id));

    expect(response).toEqual({ status: 503, jsonBody: { error: 'signing keys unavailable' } });
    expect(h.sim.requestsTo('answer')).toHaveLength(0);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs.at(-1)).toEqual({
      level: 'error',
      message: expect.stringMatching(
        /^Notification not judged \(503\): signing keys unavailable: OpenID configuration https:.* answered 500$/,
      ),
    });
  });

  it('answers 503 and says why when the OpenID configuration names a key set over plain http', async () => {
    h = await startHarness();
    h.sim.jwksUriOverride = 'http://keys.example.test/keys';
    const response = await h.post(incomingCallNotification(h.sim.placeIncomingCall().id));
    expect(response.status).toBe(503);
    expect(h.logs.at(-1)!.message).toContain('names jwks_uri http://keys.example.test/keys, which is not https');
  });

  it('logs a 401 refusal on one line however the token header is crafted', async () => {
    h = await startHarness();
    const name = 'x\r\n[Information] Notification accepted';
    const header = base64url.encode(JSON.stringify({ alg: 'RS256', crit: [name], [name]: 1 }));
    const payload = base64url.encode(JSON.stringify({ aud: SIM_BOT_APP_ID }));
    const response = await h.post(incomingCallNotification(h.sim.placeIncomingCall().id), `Bearer ${header}.${payload}.c2ln`);
    expect(response.status).toBe(401);
    expect(h.logs.at(-1)!.message).toMatch(
      /^Notification refused \(401\): ERR_JOSE_NOT_SUPPORTED: Extension Header Parameter "x\\u\{d\}\\u\{a\}\[Information\]/,
    );
    expect(h.logs.at(-1)!.message).not.toMatch(/[\r\n]/);
  });

  it('goes on answering with the last good keys when their reload fails, and warns once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    h = await startHarness();
    expect((await h.post(incomingCallNotification(h.sim.placeIncomingCall().id))).status).toBe(202);
    h.sim.failSigner('jwks', { status: 500, times: Infinity });
    vi.setSystemTime(Date.now() + 2 * 60 * 60_000);

    // Past the keys' max age: answered with the keys in hand while they reload in the background.
    expect((await h.post(incomingCallNotification(h.sim.placeIncomingCall().id))).status).toBe(202);
    await vi.waitFor(() => expect(h.sim.signerRequests('jwks').at(-1)!.status).toBe(500));
    for (let i = 0; i < 2; i++) expect((await h.post(incomingCallNotification(h.sim.placeIncomingCall().id))).status).toBe(202);

    const warnings = h.logs.filter((l) => l.message.startsWith('Notification signing keys not reloaded'));
    expect(warnings).toEqual([
      { level: 'warning', message: expect.stringMatching(/the last good ones are in use: JWKS https:.* answered 500$/) },
    ]);
    expect(h.sim.requestsTo('answer')).toHaveLength(4);
  });
});
