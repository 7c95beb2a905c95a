import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, expect, it } from 'vitest';
import { FEDERATED_ASSERTION_SCOPE } from '../../shared/graph/graphClient.js';
import { incomingCallNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';

/** The app's managed identity, as far as Graph's token service sees it: a token for the scope asked. */
class ManagedIdentityStandIn implements TokenCredential {
  readonly scopesAsked: string[] = [];
  getToken(scopes: string | string[]): Promise<AccessToken> {
    this.scopesAsked.push(...[scopes].flat());
    return Promise.resolve({ token: `mi-assertion-${this.scopesAsked.length}`, expiresOnTimestamp: Date.now() + 3_600_000 });
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

it('answers a call with a Graph token got by presenting the managed identity’s token as a federated client assertion, without a secret', async () => {
  const identity = new ManagedIdentityStandIn();
  h = await startHarness({ BOT_APP_SECRET: '' }, { managedIdentity: () => identity });
  expect(h.runtime.config.bot.graphAuth).toBe('federated');

  const call = h.sim.placeIncomingCall();
  expect((await h.post(incomingCallNotification(call.id))).status).toBe(202);
  expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);

  expect(new Set(identity.scopesAsked)).toEqual(new Set([FEDERATED_ASSERTION_SCOPE]));
  const tokenRequest = h.sim.requests.find((r) => r.path.endsWith('/oauth2/v2.0/token'));
  const form = new URLSearchParams(String(tokenRequest!.body));
  expect(form.get('client_id')).toBe(h.runtime.config.bot.appId);
  expect(form.get('client_assertion')).toMatch(/^mi-assertion-\d+$/);
  expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  expect(form.get('client_secret')).toBeNull();
});
