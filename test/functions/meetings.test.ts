import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incomingCallNotification, stateNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ENDED_ROW_GRACE_MINUTES } from '../../shared/keepAlive/sweepKeepAlive.js';

const LINK =
  'https://teams.microsoft.com/l/meetup-join/19%3ameeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%224b444206-207c-42f8-92a6-e332b41c88a2%22%7d';

let h: Harness;
beforeAll(async () => {
  // Defaults otherwise: leave after 5 minutes alone, 3 rejoin attempts, 2 s backoff base.
  h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
});
afterAll(() => h.stop());

async function joinedMeeting(): Promise<string> {
  const response = await h.join({ joinUrl: LINK });
  expect(response.status).toBe(201);
  const { callId } = response.jsonBody as { callId: string };
  await h.sim.notify(stateNotification(callId, 'established'));
  return callId;
}

function createsSince(count: number) {
  return h.sim.requestsTo('create').slice(count);
}

describe('roster notifications', () => {
  it('keep the participant count on the row', async () => {
    const callId = await joinedMeeting();
    await h.sim.sendRoster(callId, 3);
    expect(await h.runtime.store.get(callId)).toMatchObject({ participantCount: 4, alone: false });
    expect((await h.getCall(callId)).jsonBody).toMatchObject({ participantCount: 4 });
    await h.sim.sendRoster(callId, 0);
    expect(await h.runtime.store.get(callId)).toMatchObject({ participantCount: 1, alone: true, aloneSince: h.clock.now() });
  });
});

describe('LEAVE_WHEN_ALONE_MINUTES', () => {
  it('hangs up once the bot has been alone for 5 minutes, and does not rejoin', async () => {
    const callId = await joinedMeeting();
    await h.sim.sendRoster(callId, 2);
    await h.sim.sendRoster(callId, 0);
    const creates = h.sim.requestsTo('create').length;

    h.clock.advanceMinutes(4);
    await h.sweep();
    expect(h.sim.requestsTo('keepAlive', callId)).toHaveLength(1);
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(0);

    h.clock.advanceMinutes(1);
    await h.sweep();
    expect(h.sim.requestsTo('delete', callId).map((r) => r.status)).toEqual([204]);
    expect(h.sim.requestsTo('keepAlive', callId)).toHaveLength(1);
    expect(h.logs).toContainEqual({
      level: 'information',
      message: `Call ${callId}: hanging up (alone in the meeting for 5 minutes or more)`,
    });

    await h.sim.idle();
    expect(await h.runtime.store.get(callId)).toBeUndefined();
    expect(createsSince(creates)).toHaveLength(0);
  });

  it('keeps the call alive while its leave-when-alone hang-up keeps failing', async () => {
    const callId = await joinedMeeting();
    await h.sim.sendRoster(callId, 0);
    h.sim.failNext('delete', { status: 500, times: Infinity });
    try {
      for (let sweep = 0; sweep < 3; sweep++) {
        h.clock.advanceMinutes(5);
        await h.sweep();
      }
    } finally {
      h.sim.clearFaults();
    }
    // Each sweep tried to leave, failed, and kept the call alive instead of letting Graph drop it.
    expect(h.sim.requestsTo('delete', callId).length).toBeGreaterThanOrEqual(3);
    expect(h.sim.requestsTo('keepAlive', callId).filter((r) => r.status === 200)).toHaveLength(3);
    expect(await h.runtime.store.get(callId)).toMatchObject({ state: 'established' });
    expect((await h.runtime.store.get(callId))!.hangUpRequestedAt).toBeUndefined();
  });

  it('stays while someone has come back', async () => {
    const callId = await joinedMeeting();
    await h.sim.sendRoster(callId, 0);
    h.clock.advanceMinutes(3);
    await h.sim.sendRoster(callId, 1);
    h.clock.advanceMinutes(10);
    await h.sweep();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(0);
    expect(h.sim.requestsTo('keepAlive', callId).at(-1)!.status).toBe(200);

    // Alone again: the 5 minutes start over from now.
    await h.sim.sendRoster(callId, 0);
    h.clock.advanceMinutes(4);
    await h.sweep();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(0);
    h.clock.advanceMinutes(1);
    await h.sweep();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
    await h.sim.idle();
  });
});

describe('rejoin', () => {
  it('rejoins a joined meeting lost to a media failure: same join information, new row, old row gone, link logged', async () => {
    const oldId = await joinedMeeting();
    const oldRow = await h.runtime.store.get(oldId);
    const creates = h.sim.requestsTo('create').length;
    h.sleeps.length = 0;

    await h.sim.terminate(oldId, { code: 410, subcode: 301005, message: 'Media connection lost' });

    const rejoins = createsSince(creates);
    expect(rejoins).toHaveLength(1);
    // The same join, under a join id of its own (in the callback URL).
    const { callbackUri: newCallback, ...sent } = rejoins[0]!.body as Record<string, unknown>;
    const { callbackUri: oldCallback, ...first } = h.sim.calls.get(oldId)!.body!;
    expect(sent).toEqual(first);
    expect(newCallback).not.toBe(oldCallback);
    const newId = h.sim.lastCreatedCall()!.id;
    expect(newId).not.toBe(oldId);

    expect(await h.runtime.store.get(oldId)).toBeUndefined();
    const newRow = await h.runtime.store.get(newId);
    expect(newRow).toMatchObject({ state: 'establishing', rejoinedFrom: oldId, rejoinAttempts: 1, joinInfo: oldRow!.joinInfo });
    expect(h.sleeps).toEqual([2000]);
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: `Call ${oldId}: ended abnormally (resultInfo 410/301005); rejoin attempt 1 of 3 scheduled in 2 s`,
    });
    expect(h.logs).toContainEqual({ level: 'warning', message: `Call ${oldId}: rejoined its meeting as call ${newId} (attempt 1 of 3)` });
  });

  it.each([
    ['a keepAlive timeout (408/8537)', { code: 408, subcode: 8537, message: 'Call was terminated due to inactivity' }],
    ['a service fault (500)', { code: 500, subcode: 0, message: 'Internal error' }],
  ])('rejoins after %s', async (_name, resultInfo) => {
    const oldId = await joinedMeeting();
    await h.sim.terminate(oldId, resultInfo);
    const newId = h.sim.lastCreatedCall()!.id;
    expect(newId).not.toBe(oldId);
    expect(await h.runtime.store.get(newId)).toMatchObject({ rejoinedFrom: oldId });
  });

  it.each([
    ['the conversation ended (200/5001)', { code: 200, subcode: 5001, message: 'Call ended by the remote user' }],
    ['the meeting ended (200/5014)', { code: 200, subcode: 5014, message: 'Meeting ended' }],
    ['the bot ended it (200/7000)', { code: 200, subcode: 7000, message: 'Call ended by the application' }],
  ])('does not rejoin after a normal end: %s', async (_name, resultInfo) => {
    const callId = await joinedMeeting();
    const creates = h.sim.requestsTo('create').length;
    await h.sim.terminate(callId, resultInfo);
    expect(createsSince(creates)).toHaveLength(0);
    expect(await h.runtime.store.get(callId)).toBeUndefined();
    expect(h.logs).toContainEqual({ level: 'information', message: `Call ${callId}: not rejoining its meeting (a normal end)` });
  });

  it('does not rejoin an answered call (only meetings the bot joined)', async () => {
    const call = h.sim.placeIncomingCall();
    await h.post(incomingCallNotification(call.id));
    const creates = h.sim.requestsTo('create').length;
    await h.sim.terminate(call.id, { code: 410, subcode: 301005, message: 'Media connection lost' });
    expect(createsSince(creates)).toHaveLength(0);
  });

  // Throttling (429) is a refusal that may pass; a 5xx is not retried, since Graph may have made the call.
  const THROTTLED = { status: 429, retryAfterSeconds: 0, code: 'TooManyRequests', message: 'slow down' };

  it('backs off between failed attempts and counts them', async () => {
    const oldId = await joinedMeeting();
    h.sleeps.length = 0;
    // The first attempt's create and its three retries.
    h.sim.failNext('create', { ...THROTTLED, times: 4 });
    const creates = h.sim.requestsTo('create').length;
    await h.sim.terminate(oldId, { code: 410, subcode: 301005, message: 'Media connection lost' });
    expect(createsSince(creates).map((r) => r.status)).toEqual([429, 429, 429, 429, 201]);
    expect(h.sleeps).toEqual([2000, 4000]);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: oldId, rejoinAttempts: 2 });
  });

  it('gives up after REJOIN_ATTEMPTS failures, leaving no row', async () => {
    const oldId = await joinedMeeting();
    h.sleeps.length = 0;
    h.sim.failNext('create', { ...THROTTLED, times: 12 });
    const creates = h.sim.requestsTo('create').length;
    await h.sim.terminate(oldId, { code: 410, subcode: 301005, message: 'Media connection lost' });
    expect(createsSince(creates).map((r) => r.status)).toEqual(Array(12).fill(429));
    expect(h.sleeps).toEqual([2000, 4000, 8000]);
    expect(await h.runtime.store.get(oldId)).toBeUndefined();
    expect(h.logs).toContainEqual({ level: 'error', message: `Call ${oldId}: could not rejoin its meeting; gave up` });
  });

  it('stops at once when Graph refuses the join for good (403)', async () => {
    const oldId = await joinedMeeting();
    h.sleeps.length = 0;
    h.sim.failNext('create', { status: 403, code: 'Forbidden', message: 'no', times: 1 });
    await h.sim.terminate(oldId, { code: 410, subcode: 301005, message: 'Media connection lost' });
    expect(h.sleeps).toEqual([2000]);
    expect(await h.runtime.store.get(oldId)).toBeUndefined();
  });

  it('carries the attempts over a rejoin that fails again before it is established, and resets them once it is', async () => {
    const first = await joinedMeeting();
    await h.sim.terminate(first, { code: 410, subcode: 301005, message: 'lost' });
    const second = h.sim.lastCreatedCall()!.id;
    await h.sim.terminate(second, { code: 500, subcode: 0, message: 'fault' });
    const third = h.sim.lastCreatedCall()!.id;
    expect(await h.runtime.store.get(third)).toMatchObject({ rejoinedFrom: second, rejoinAttempts: 2 });

    await h.sim.notify(stateNotification(third, 'established'));
    expect(await h.runtime.store.get(third)).toMatchObject({ rejoinAttempts: 0 });
  });

  it('never rejoins more than REJOIN_ATTEMPTS times in a row', async () => {
    let callId = await joinedMeeting();
    const creates = h.sim.requestsTo('create').length;
    for (let i = 0; i < 4; i++) {
      await h.sim.terminate(callId, { code: 410, subcode: 301005, message: 'lost' });
      callId = h.sim.lastCreatedCall()!.id;
    }
    expect(createsSince(creates)).toHaveLength(3);
    expect(h.logs).toContainEqual({
      level: 'information',
      message: expect.stringContaining('not rejoining its meeting (all 3 rejoin attempts are used)'),
    });
  });
});

describe('a joined meeting whose keepAlive answers 404 before its terminated notification', () => {
  it('keeps the join information until the notification arrives, then rejoins an abnormal end', async () => {
    const callId = await joinedMeeting();
    h.sim.endCallSilently(callId);
    await h.sweep();
    expect(h.sim.requestsTo('keepAlive', callId).at(-1)!.status).toBe(404);
    // Not kept alive any more, but not forgotten either.
    expect(await h.runtime.store.get(callId)).toMatchObject({ state: 'terminated', joinInfo: expect.any(Object) });
    await h.sweep();
    expect(h.sim.requestsTo('keepAlive', callId)).toHaveLength(1);

    const creates = h.sim.requestsTo('create').length;
    await h.sim.terminate(callId, { code: 408, subcode: 8537, message: 'Call was terminated due to inactivity' });
    expect(await h.runtime.store.get(callId)).toBeUndefined();
    expect(createsSince(creates)).toHaveLength(1);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: callId });
  });

  it('removes the row without a rejoin when no terminated notification comes within the grace period', async () => {
    const callId = await joinedMeeting();
    h.sim.endCallSilently(callId);
    await h.sweep();
    h.clock.advanceMinutes(ENDED_ROW_GRACE_MINUTES);
    const creates = h.sim.requestsTo('create').length;
    await h.sweep();
    expect(await h.runtime.store.get(callId)).toBeUndefined();
    expect(createsSince(creates)).toHaveLength(0);
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        message: expect.stringContaining(`Call ${callId}: ended (keepAlive 404) and no terminated notification came`),
      }),
    );
  });

  it('does not bring the call back on a late state notification', async () => {
    const callId = await joinedMeeting();
    h.sim.endCallSilently(callId);
    await h.sweep();
    await h.sim.notify(stateNotification(callId, 'established'));
    expect(await h.runtime.store.get(callId)).toMatchObject({ state: 'terminated' });
    await h.sweep();
    expect(h.sim.requestsTo('keepAlive', callId)).toHaveLength(1);
  });
});
