import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incomingCallNotification, SIM_TENANT_ID } from '../../tools/graphSimulator.js';
import { ANSWER_DEADLINE_MS, POLICY_RECORDING_ANSWER_DEADLINE_MS } from '../../shared/notifications/incomingCallPolicy.js';
import type { Deadline } from '../../shared/deadline.js';
import { startHarness, type Harness } from '../support/harness.js';

const OTHER_TENANT = 'aaaabbbb-0000-1111-2222-333344445555';

// The policy-based recording invitation of the https://learn.microsoft.com/en-us/graph/api/call-answer (example 3), trimmed to what matters.
function policyRecordingInvitation(callId: string): Record<string, unknown> {
  return incomingCallNotification(callId, {
    meetingInfo: { '@odata.type': '#microsoft.graph.tokenMeetingInfo', token: 'join token' },
    tenantId: SIM_TENANT_ID,
    myParticipantId: '1520a1a5-5394-4a41-aa72-9ee6fa18cfc8',
    applicationMetadata: {
      botData: {
        mediaHostedRegion: 'USEA',
        inviteReasons: ['PolicyBasedRecording'],
        policyIdentifier: 'Test Policy',
      },
    },
  });
}

describe('ALLOWED_TENANT_IDS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ALLOWED_TENANT_IDS: SIM_TENANT_ID });
  });
  afterAll(() => h.stop());

  it('rejects a call from another tenant, keeps no row and does not answer', async () => {
    const call = h.sim.placeIncomingCall({ tenantId: OTHER_TENANT });
    const response = await h.post(incomingCallNotification(call.id, { tenantId: OTHER_TENANT }));
    expect(response.status).toBe(202);
    expect(h.sim.requestsTo('reject', call.id).map((r) => [r.status, r.body])).toEqual([[202, { reason: 'forbidden' }]]);
    expect(h.sim.requestsTo('answer', call.id)).toHaveLength(0);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs).toContainEqual({
      level: 'information',
      message: `Call ${call.id}: rejected (forbidden): tenant ${OTHER_TENANT} is not in ALLOWED_TENANT_IDS`,
    });
  });

  it('answers a call from an allowed tenant (the token tenant, when the call names none)', async () => {
    const call = h.sim.placeIncomingCall();
    await h.post(incomingCallNotification(call.id));
    expect(h.sim.requestsTo('answer', call.id)).toHaveLength(1);
    expect(h.sim.requestsTo('reject', call.id)).toHaveLength(0);
    expect(await h.runtime.store.get(call.id)).toBeDefined();
  });
});

describe('MAX_ACTIVE_CALLS', () => {
  let h: Harness;
  beforeAll(async () => {
    // A count per incoming call, so the test sees the cap exactly.
    h = await startHarness({ MAX_ACTIVE_CALLS: '2', ACTIVE_CALLS_CACHE_SECONDS: '0' });
  });
  afterAll(() => h.stop());

  it('rejects an incoming call as busy at capacity, and answers again once a call has ended', async () => {
    const first = h.sim.placeIncomingCall();
    const second = h.sim.placeIncomingCall();
    const third = h.sim.placeIncomingCall();
    await h.post(incomingCallNotification(first.id));
    await h.post(incomingCallNotification(second.id));
    await h.post(incomingCallNotification(third.id));

    expect(h.sim.requestsTo('answer').map((r) => r.path)).toEqual([
      `/v1.0/communications/calls/${first.id}/answer`,
      `/v1.0/communications/calls/${second.id}/answer`,
    ]);
    expect(h.sim.requestsTo('reject', third.id).map((r) => r.body)).toEqual([{ reason: 'busy' }]);
    expect(await h.runtime.store.get(third.id)).toBeUndefined();
    expect(h.logs).toContainEqual({
      level: 'information',
      message: `Call ${third.id}: rejected (busy): 2 active calls, MAX_ACTIVE_CALLS is 2`,
    });

    await h.hangUp(first.id);
    await h.sim.idle();
    const fourth = h.sim.placeIncomingCall();
    await h.post(incomingCallNotification(fourth.id));
    expect(h.sim.requestsTo('answer', fourth.id)).toHaveLength(1);
  });

  it('treats a redelivery of an answered call at capacity as a duplicate, never rejecting the call it answered', async () => {
    const answered = h.sim.calls.get([...h.sim.calls.keys()].at(-1)!)!;
    expect(h.sim.requestsTo('answer', answered.id)).toHaveLength(1);
    expect(await h.runtime.store.countActive()).toBe(2); // at the cap, this call included

    await h.post(incomingCallNotification(answered.id));
    expect(h.sim.requestsTo('reject', answered.id)).toHaveLength(0);
    expect(h.sim.requestsTo('answer', answered.id)).toHaveLength(1);
    expect(h.logs).toContainEqual({
      level: 'information',
      message: `Call ${answered.id}: duplicate incoming notification; it is already being answered`,
    });
  });
});

describe('policy-based recording', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ POLICY_RECORDING_PARTICIPANT_CAPACITY: '50' });
  });
  afterAll(() => h.stop());

  it('answers the seed invitation with participantCapacity from the setting', async () => {
    const call = h.sim.placeIncomingCall();
    await h.post(policyRecordingInvitation(call.id));
    const answers = h.sim.requestsTo('answer', call.id);
    expect(answers.map((a) => a.status)).toEqual([202]);
    expect(answers[0]!.body).toMatchObject({ acceptedModalities: ['audio'], participantCapacity: 50 });
    expect(await h.runtime.store.get(call.id)).toMatchObject({ tenantId: SIM_TENANT_ID, meetingInfo: { token: 'join token' } });
    expect(h.logs).toContainEqual({ level: 'information', message: `Call ${call.id}: answered (policy-based recording)` });
  });

  it('answers an ordinary call without participantCapacity', async () => {
    const call = h.sim.placeIncomingCall();
    await h.post(incomingCallNotification(call.id));
    expect(h.sim.requestsTo('answer', call.id)[0]!.body).not.toHaveProperty('participantCapacity');
  });

  it('gives up on a policy-recording answer that Graph does not accept within the 5 s deadline', async () => {
    const call = h.sim.placeIncomingCall();
    h.sim.latencyMs = 8_000; // well past the 4 s the bot allows itself
    try {
      await h.post(policyRecordingInvitation(call.id));
    } finally {
      h.sim.latencyMs = 0;
    }
    // Graph may have answered after all: the call stays tracked, and a keepAlive settles it.
    expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'incoming' });
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: expect.stringContaining(`Call ${call.id}: answer outcome is ambiguous (Graph no response`),
      }),
    );
    h.sim.endCallSilently(call.id);
    h.clock.advanceMinutes(15);
    expect(await h.sweep()).toMatchObject({ ended: 1 });
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
  });

  it('rejects a policy-recording invitation under the same 4 s deadline as its answer', async () => {
    const busy = await startHarness({ MAX_ACTIVE_CALLS: '1', ACTIVE_CALLS_CACHE_SECONDS: '0' });
    try {
      const graph = busy.runtime.graph;
      // Each reject's deadline, against the time its notification was posted: it counts from the
      // arrival, which lies between the post's start and its end (bounds that hold however slow the machine).
      const rejectDeadlines: number[] = [];
      busy.runtime.graph = Object.assign(Object.create(graph) as typeof graph, {
        reject: (callId: string, reason: 'busy' | 'forbidden', deadline?: Deadline) => {
          rejectDeadlines.push(deadline!.at);
          return graph.reject(callId, reason, deadline);
        },
      });
      await busy.post(incomingCallNotification(busy.sim.placeIncomingCall().id));
      const call = busy.sim.placeIncomingCall();
      const windows: Array<[number, number]> = [];
      for (const body of [policyRecordingInvitation(call.id), incomingCallNotification(busy.sim.placeIncomingCall().id)]) {
        const before = Date.now();
        await busy.post(body);
        windows.push([before, Date.now()]);
      }
      expect(rejectDeadlines).toHaveLength(2);
      const [recording, ordinary] = windows as [[number, number], [number, number]];
      expect(rejectDeadlines[0]).toBeGreaterThanOrEqual(recording[0] + POLICY_RECORDING_ANSWER_DEADLINE_MS);
      expect(rejectDeadlines[0]).toBeLessThanOrEqual(recording[1] + POLICY_RECORDING_ANSWER_DEADLINE_MS);
      expect(rejectDeadlines[1]).toBeGreaterThanOrEqual(ordinary[0] + ANSWER_DEADLINE_MS);
      expect(rejectDeadlines[1]).toBeLessThanOrEqual(ordinary[1] + ANSWER_DEADLINE_MS);
      expect(busy.sim.requestsTo('reject', call.id).map((r) => r.body)).toEqual([{ reason: 'busy' }]);
    } finally {
      await busy.stop();
    }
  });
});
