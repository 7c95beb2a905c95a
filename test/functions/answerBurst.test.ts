import { afterEach, expect, inject, it } from 'vitest';
import { incomingCallNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(() => h.stop());

it('answers a burst of simultaneous incoming calls, every one once, with at most 64 answers in flight', async () => {
  h = await startHarness();
  // Long enough that, unbounded, far more than 64 answers would overlap.
  h.sim.latencyMs = 400;
  const calls = Array.from({ length: 100 }, () => h.sim.placeIncomingCall());

  const responses = await Promise.all(calls.map((call) => h.post(incomingCallNotification(call.id))));

  expect(responses.map((r) => r.status)).toEqual(calls.map(() => 202));
  for (const call of calls) expect(h.sim.calls.get(call.id)!.answerRequests).toHaveLength(1);
  expect(h.sim.peakInFlight).toBe(64);
});

it('handles notifications with a storage connection that has no queue endpoint (the queue is only needed to fan out)', async () => {
  const tableOnly = inject('storageConnectionString').replace(/QueueEndpoint=[^;]*;/, '');
  expect(tableOnly).not.toMatch(/QueueEndpoint/);
  h = await startHarness({ AzureWebJobsStorage: tableOnly });
  const call = h.sim.placeIncomingCall();
  expect((await h.post(incomingCallNotification(call.id))).status).toBe(202);
  expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'incoming' });
});
