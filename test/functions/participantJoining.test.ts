import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallStore } from '../../shared/calls/callStore.js';
import { TableCallStore } from '../../shared/calls/tableCallStore.js';
import { incomingCallNotification, participantJoiningNotification, SIM_TENANT_ID, stateNotification } from '../../tools/graphSimulator.js';
import { BOT_CALLBACK_URL, startHarness, type Harness } from '../support/harness.js';

// Policy-based recording with participantCapacity: after the bot answers the invitation, Graph
// sends later participants of the policy group as participantJoiningNotifications and expects a
// participantJoiningResponse in the response body
// (https://learn.microsoft.com/en-us/graph/api/resources/participantjoiningnotification).

const CAPACITY = 3;
const OTHER_TENANT = 'aaaabbbb-0000-1111-2222-333344445555';
const ACCEPT = { '@odata.type': '#microsoft.graph.acceptJoinResponse' };
const BUSY = { '@odata.type': '#microsoft.graph.rejectJoinResponse', reason: 'busy' };
const FORBIDDEN = { '@odata.type': '#microsoft.graph.rejectJoinResponse', reason: 'forbidden' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ POLICY_RECORDING_PARTICIPANT_CAPACITY: String(CAPACITY), ALLOWED_TENANT_IDS: SIM_TENANT_ID });
});
afterAll(() => h.stop());

/** A recording call the bot answered from a policy-based recording invitation and that is established. */
async function recordingCall(): Promise<string> {
  const call = h.sim.placeIncomingCall();
  const invitation = incomingCallNotification(call.id, {
    tenantId: SIM_TENANT_ID,
    applicationMetadata: { botData: { inviteReasons: ['PolicyBasedRecording'], policyIdentifier: 'Test Policy' } },
  });
  expect((await h.post(invitation)).status).toBe(202);
  expect(h.sim.requestsTo('answer', call.id)[0]!.body).toMatchObject({ participantCapacity: CAPACITY });
  expect((await h.post(stateNotification(call.id, 'established'))).status).toBe(202);
  return call.id;
}

async function join(callId: string, call: Record<string, unknown> = {}) {
  return h.post(participantJoiningNotification(callId, call));
}

describe('participantJoiningNotification', () => {
  it('accepts participants while the call handles fewer than its capacity (the invitation counts one), then rejects them as busy', async () => {
    const callId = await recordingCall();
    const responses = [await join(callId), await join(callId), await join(callId)];
    expect(responses.map((r) => [r.status, r.jsonBody])).toEqual([
      [200, ACCEPT],
      [200, ACCEPT],
      [200, BUSY],
    ]);
    expect(await h.runtime.store.get(callId)).toMatchObject({ state: 'established', handledParticipants: CAPACITY });
    expect(h.logs).toContainEqual({
      level: 'information',
      message: `Call ${callId}: joining participant rejected (busy): it handles ${CAPACITY}, capacity ${CAPACITY}`,
    });
  });

  it('rejects a participant of a tenant outside ALLOWED_TENANT_IDS as forbidden, without counting it', async () => {
    const callId = await recordingCall();
    const response = await join(callId, { tenantId: OTHER_TENANT });
    expect([response.status, response.jsonBody]).toEqual([200, FORBIDDEN]);
    expect((await h.runtime.store.get(callId))!.handledParticipants).toBeUndefined();
    expect([(await join(callId)).jsonBody]).toEqual([ACCEPT]);
  });

  it('judges a joining call that names no tenant by the tenant of the notification token', async () => {
    const callId = await recordingCall();
    const response = await join(callId, { tenantId: null });
    expect(response.jsonBody).toEqual(ACCEPT);
  });

  it('asks Graph to send the participant as a new incoming call when the bot does not track the call', async () => {
    const response = await join('0000aaaa-dead-beef-0000-000000000000');
    expect([response.status, response.jsonBody]).toEqual([
      200,
      { '@odata.type': '#microsoft.graph.inviteNewBotResponse', inviteUri: BOT_CALLBACK_URL },
    ]);
    expect(await h.runtime.store.get('0000aaaa-dead-beef-0000-000000000000')).toBeUndefined();
  });

  it('gives the last place to exactly one of two participants joining at once', async () => {
    const callId = await recordingCall();
    expect((await join(callId)).jsonBody).toEqual(ACCEPT); // 2 of 3
    const racing = await Promise.all([join(callId), join(callId)]);
    expect(racing.map((r) => r.jsonBody).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([ACCEPT, BUSY]);
    expect((await h.runtime.store.get(callId))!.handledParticipants).toBe(CAPACITY);
  });

  it('answers a batch that carries a joining notification with its response, and carries out the other entries', async () => {
    const callId = await recordingCall();
    const other = h.sim.placeIncomingCall();
    const entries = (body: Record<string, unknown>) => (body as { value: unknown[] }).value;
    const response = await h.post({
      value: [
        ...entries(incomingCallNotification(other.id)),
        ...entries(participantJoiningNotification(callId)),
        ...entries(participantJoiningNotification(callId)),
      ],
    });
    expect([response.status, response.jsonBody]).toEqual([200, ACCEPT]);
    expect(h.sim.requestsTo('answer', other.id)).toHaveLength(1);
    // Only one response body: the second joining notification is not counted.
    expect((await h.runtime.store.get(callId))!.handledParticipants).toBe(2);
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: `Call ${callId}: value[2] is a second participantJoiningNotification in one delivery; ignored`,
    });
  });

  it('answers 503 when the count cannot be read, so that Graph delivers the notification again', async () => {
    const callId = await recordingCall();
    const closedPort =
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=eQ==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;';
    const unreachable: CallStore = new TableCallStore(
      TableClient.fromConnectionString(closedPort, 'unreachable', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } }),
    );
    const real = h.runtime.store;
    h.runtime.store = unreachable;
    try {
      const response = await join(callId);
      expect(response.status).toBe(503);
      expect(response.jsonBody).not.toHaveProperty('@odata.type');
    } finally {
      h.runtime.store = real;
    }
    expect((await join(callId)).jsonBody).toEqual(ACCEPT);
    expect((await h.runtime.store.get(callId))!.handledParticipants).toBe(2);
  });
});
