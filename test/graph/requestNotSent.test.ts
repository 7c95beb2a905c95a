import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, expect, it } from 'vitest';
import { deadlineIn } from '../../shared/deadline.js';
import { answerRequest } from '../../shared/notifications/handleNotifications.js';
import { incomingCallNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';

// When no request reaches Graph (no token, or the deadline passed while one was fetched), that is
// certain, unlike a lost answer: an answer is then known not to be done.

/** A Graph credential that fails, or answers only after `delayMs`. */
function credential(behaviour: { fail: true } | { delayMs: number }): () => TokenCredential {
  const source: TokenCredential = {
    getToken: async (): Promise<AccessToken> => {
      if ('fail' in behaviour) throw new Error('Entra unreachable');
      await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
      return { token: 'not-issued-by-the-simulator', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return () => source;
}

let h: Harness;
afterEach(() => h.stop());

it('an incoming call that cannot get a token is not tracked, and Graph is asked to deliver it again', async () => {
  h = await startHarness({}, { graphCredential: credential({ fail: true }) });
  const call = h.sim.placeIncomingCall();

  const response = await h.post(incomingCallNotification(call.id));
  expect(response.status).toBe(503);
  expect(h.sim.requestsTo('answer', call.id)).toHaveLength(0);
  expect(await h.runtime.store.get(call.id)).toBeUndefined();
  expect(h.logs).toContainEqual({
    level: 'error',
    message: expect.stringMatching(/not answered, no request reached Graph .*NotSent: No request sent: no Graph token: Entra unreachable/),
  });
});

it('an answer whose deadline passes while its token is fetched is not sent, and says so', async () => {
  h = await startHarness({}, { graphCredential: credential({ delayMs: 300 }) });
  const call = h.sim.placeIncomingCall();

  const outcome = await h.runtime.graph.answer(call.id, answerRequest('https://bot.example.test/api/calls'), deadlineIn(100));
  expect(outcome).toMatchObject({
    ok: false,
    code: 'NotSent',
    message: expect.stringMatching(/deadline passed while the Graph token was fetched/),
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(h.sim.requestsTo('answer', call.id)).toHaveLength(0);
});

it('an answer waits for its token no longer than its deadline, even when the token endpoint hangs', async () => {
  let release: (() => void) | undefined;
  const hanging: TokenCredential = {
    getToken: async (): Promise<AccessToken> => {
      await new Promise<void>((resolve) => (release = resolve));
      return { token: 'late', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  h = await startHarness({}, { graphCredential: () => hanging });
  const call = h.sim.placeIncomingCall();

  const answered = h.runtime.graph.answer(call.id, answerRequest('https://bot.example.test/api/calls'), deadlineIn(100));
  // Generous: the deadline is 100 ms; without the bound the answer waits for the token forever.
  const stillWaiting = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 3_000).unref());
  const outcome = await Promise.race([answered, stillWaiting]);
  release?.();

  expect(outcome).toMatchObject({
    ok: false,
    code: 'NotSent',
    message: expect.stringMatching(/deadline passed while the Graph token was fetched/),
  });
  expect(h.sim.requestsTo('answer', call.id)).toHaveLength(0);
});

it("a keepAlive without a token is this app's fault, not counted against the call", async () => {
  h = await startHarness();
  const call = await h.establishedCall();
  h.clock.advanceMinutes(15);
  const failing = credential({ fail: true })();
  // The runtime's Graph client holds its credential: swap the token source under it.
  const cached = h.runtime.graphCredential() as unknown as { inner: TokenCredential; tokens: Map<string, unknown> };
  cached.inner = failing;
  cached.tokens.clear();

  expect(await h.sweep()).toMatchObject({ sent: 1, ok: 0, failed: 1 });
  expect(h.sim.requestsTo('keepAlive', call.id)).toHaveLength(0);
  expect((await h.runtime.store.get(call.id))!.keepAliveFailures).toBe(0);
  expect(h.logs).toContainEqual({ level: 'error', message: expect.stringMatching(/keepAlive not sent \(No request sent: no Graph token/) });
});
