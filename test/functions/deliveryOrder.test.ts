import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageRejoinQueue } from '../../shared/meetings/rejoinQueue.js';
import { NO_TOKEN_CREDENTIAL } from '../../shared/storage/storageClients.js';
import { freePort } from '../../tools/azurite.js';
import { incomingCallNotification, stateNotification, terminatedNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';

const JOIN = { joinMeetingId: '7654321', passcode: 'abc123', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' };
const MEDIA_LOST = { code: 410, subcode: 301005, message: 'Media connection lost' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

async function joinedMeeting(): Promise<string> {
  const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
  await h.sim.notify(stateNotification(callId, 'established'));
  return callId;
}

function batchOf(...bodies: Record<string, unknown>[]): Record<string, unknown> {
  return { value: bodies.flatMap((b) => b['value'] as unknown[]) };
}

describe('one delivery, several calls', () => {
  it('answers an incoming call without waiting for the rejoin of a meeting that ended in the same delivery', async () => {
    const meeting = await joinedMeeting();
    h.sim.endCallSilently(meeting);
    const call = h.sim.placeIncomingCall();
    const before = h.sim.requests.length;

    expect((await h.post(batchOf(terminatedNotification(meeting, MEDIA_LOST), incomingCallNotification(call.id)))).status).toBe(202);

    // The rejoin is a queue message that waits out its backoff; the answer went out first, inside the request.
    const order = h.sim.requests
      .slice(before)
      .map((r) => (r.path.endsWith('/answer') ? 'answer' : r.method === 'POST' && r.path.endsWith('/calls') ? 'create' : 'other'));
    expect(order.filter((o) => o !== 'other')).toEqual(['answer', 'create']);
    expect(h.sleeps.at(-1)).toBe(2000);
  });

  it('answers the incoming calls of one delivery side by side, not one after another', async () => {
    const calls = Array.from({ length: 20 }, () => h.sim.placeIncomingCall());
    h.sim.latencyMs = 200;
    h.sim.peakInFlight = 0;
    try {
      expect((await h.post(batchOf(...calls.map((c) => incomingCallNotification(c.id))))).status).toBe(202);
    } finally {
      h.sim.latencyMs = 0;
    }
    for (const call of calls) expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    expect(h.sim.peakInFlight).toBeGreaterThan(1);
  });

  it('keeps the row and answers 503 when the rejoin cannot be queued, so the redelivery rejoins', async () => {
    const meeting = await joinedMeeting();
    const working = h.runtime.rejoinQueue;
    const closed = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${'a'.repeat(86)}==;QueueEndpoint=http://127.0.0.1:${await freePort()}/devstoreaccount1;`;
    h.runtime.rejoinQueue = new StorageRejoinQueue({ kind: 'connectionString', connectionString: closed }, NO_TOKEN_CREDENTIAL);
    try {
      expect((await h.post(terminatedNotification(meeting, MEDIA_LOST))).status).toBe(503);
    } finally {
      h.runtime.rejoinQueue = working;
    }
    expect(await h.runtime.store.get(meeting)).toBeDefined();
    const creates = h.sim.requestsTo('create').length;

    expect((await h.post(terminatedNotification(meeting, MEDIA_LOST))).status).toBe(202);
    expect(await h.runtime.store.get(meeting)).toBeUndefined();
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: meeting });
  });
});
