import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stateNotification, terminatedNotification } from '../../tools/graphSimulator.js';
import { createMeetingRejoinHandler } from '../../functions/meetingRejoin.js';
import { startHarness, testContext, type Harness } from '../support/harness.js';

// Create-call is not idempotent (https://learn.microsoft.com/en-us/graph/api/application-post-calls):
// a lost answer, a 5xx or a 408 says nothing about whether Graph made the call, and Graph's first
// notifications may reach the bot before the create's answer does.

const JOIN = { joinMeetingId: '1234567', passcode: 'psw123', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' };
const MEDIA_LOST = { code: 410, subcode: 301005, message: 'Media connection lost' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());
beforeEach(() => {
  h.sim.beforeCreateReply = undefined;
  h.sim.clearFaults();
});

describe('a join whose create outcome is unknown', () => {
  it.each([
    ['a gateway 504 after Graph made the call', 504],
    ['a 500 after Graph made the call', 500],
    ['a 408', 408],
  ])('%s: answers 202 pending, sends no second create, and adopts the call when Graph reports it', async (_name, status) => {
    h.sim.failNext('create', { status, times: 1, afterWork: true });
    const creates = h.sim.requestsTo('create').length;
    const response = await h.join(JOIN);

    expect(response.status).toBe(202);
    const { joinId, state } = response.jsonBody as { joinId: string; state: string };
    expect(state).toBe('pending');
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);
    const call = h.sim.lastCreatedCall()!;
    expect(call.callbackUri).toContain(`joinId=${joinId}`);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();

    // The call's first notification: the bot adopts it with the join information, and keeps it alive.
    await h.sim.sendState(call.id, 'establishing');
    const row = await h.runtime.store.get(call.id);
    expect(row).toMatchObject({ state: 'establishing', direction: 'outgoing', joinInfo: { meetingInfo: { joinMeetingId: '1234567' } } });
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: `Call ${call.id}: adopted as the call of join ${joinId} (its create's outcome was unknown)`,
    });
    h.clock.advanceMinutes(15);
    await h.sweep();
    expect(h.sim.requestsTo('keepAlive', call.id).map((r) => r.status)).toEqual([200]);

    // Adopted with what a rejoin needs.
    await h.sim.terminate(call.id, MEDIA_LOST);
    expect(h.sim.lastCreatedCall()!.id).not.toBe(call.id);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: call.id });
  });

  it('rejoins a meeting whose unknown call ends abnormally before any other notification, without a ghost row', async () => {
    h.sim.failNext('create', { status: 504, times: 1, afterWork: true });
    await h.join(JOIN);
    const call = h.sim.lastCreatedCall()!;
    await h.sim.terminate(call.id, MEDIA_LOST);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    const rejoin = h.sim.lastCreatedCall()!;
    expect(rejoin.id).not.toBe(call.id);
    expect(await h.runtime.store.get(rejoin.id)).toMatchObject({ rejoinedFrom: call.id, rejoinAttempts: 1 });
  });

  it('answers 4xx and keeps nothing when Graph clearly refused (a 429 means Graph did nothing)', async () => {
    h.sim.failNext('create', { status: 429, retryAfterSeconds: 0, times: 4 });
    const response = await h.join(JOIN);
    expect(response.status).toBe(429);
    expect(h.sim.requestsTo('create').at(-1)!.status).toBe(429);
  });
});

describe('notifications that arrive before the join stores its row', () => {
  it('applies an early established: the row is established with establishedAt set', async () => {
    h.sim.beforeCreateReply = (call) => h.sim.sendState(call.id, 'established');
    const response = await h.join(JOIN);
    expect(response.status).toBe(201);
    const { callId } = response.jsonBody as { callId: string };
    const row = await h.runtime.store.get(callId);
    expect(row).toMatchObject({ state: 'established' });
    expect(row!.establishedAt).toBeInstanceOf(Date);
    expect(row!.myParticipantId).toBe(h.sim.calls.get(callId)!.myParticipantId);
  });

  it('applies an early roster that says the bot is alone', async () => {
    h.sim.beforeCreateReply = (call) => h.sim.sendRoster(call.id, 0);
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    expect(await h.runtime.store.get(callId)).toMatchObject({ alone: true, participantCount: 1 });
  });

  it('applies an early termination: no ghost row, and the abnormal end is rejoined', async () => {
    let first: string | undefined;
    h.sim.beforeCreateReply = async (call) => {
      if (first !== undefined) return; // the rejoin's own create answers normally
      first = call.id;
      await h.sim.terminate(call.id, MEDIA_LOST);
    };
    const response = await h.join(JOIN);
    expect(response.status).toBe(201);
    await h.sim.idle();
    // The join's answer came after the end: the row it stored is gone again, and the end was handled.
    expect(await h.runtime.store.get(first!)).toBeUndefined();
    const rejoin = h.sim.lastCreatedCall()!;
    expect(rejoin.id).not.toBe(first);
    expect(await h.runtime.store.get(rejoin.id)).toMatchObject({ rejoinedFrom: first });
  });

  it('never brings back a call that ended: a late notification after the end finds nothing to adopt', async () => {
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    await h.sim.terminate(callId, { code: 200, subcode: 5001, message: 'ended' });
    expect(await h.runtime.store.get(callId)).toBeUndefined();
    await h.sim.sendState(callId, 'established');
    expect(await h.runtime.store.get(callId)).toBeUndefined();
  });

  it('does not adopt a call whose notification names no join of this bot', async () => {
    const response = await h.post({
      value: [
        {
          ...(stateNotification('0e8f6c6e-0000-4000-8000-000000000001', 'established').value as object[])[0],
          callbackUri: 'https://bot.example.test/api/calls?joinId=5b7c4f2a-1111-4222-8333-944455556666',
        },
      ],
    });
    expect(response.status).toBe(202);
    expect(await h.runtime.store.get('0e8f6c6e-0000-4000-8000-000000000001')).toBeUndefined();
  });
});

describe('the join after Graph made the call', () => {
  it('keeps a call that is stored even when settling its join fails: no hang-up, 201', async () => {
    const ledger = h.runtime.joinLedger;
    h.runtime.joinLedger = Object.assign(Object.create(ledger) as typeof ledger, {
      get: () => Promise.reject(new Error('storage unavailable')),
    });
    try {
      const response = await h.join(JOIN);
      expect(response.status).toBe(201);
      const { callId } = response.jsonBody as { callId: string };
      expect(h.sim.requestsTo('delete', callId)).toHaveLength(0);
      expect(h.sim.calls.get(callId)!.state).not.toBe('terminated');
      expect(await h.runtime.store.get(callId)).toBeDefined();
    } finally {
      h.runtime.joinLedger = ledger;
    }
  });

  it('answers pending, not failed, when the row cannot be stored and the hang-up fails too; the call is adopted later', async () => {
    const store = h.runtime.store;
    h.runtime.store = Object.assign(Object.create(store) as typeof store, {
      insert: () => Promise.reject(new Error('storage unavailable')),
    });
    h.sim.failNext('delete', { status: 500, times: 1 });
    let response;
    try {
      response = await h.join(JOIN);
    } finally {
      h.runtime.store = store;
    }
    expect(response.status).toBe(202);
    const call = h.sim.lastCreatedCall()!;
    expect(call.state).not.toBe('terminated');
    await h.sim.sendState(call.id, 'established');
    expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'established', joinInfo: expect.any(Object) });
  });

  it('does not bring back a call adopted and ended before the create answered, nor rejoin it twice', async () => {
    let first: string | undefined;
    h.sim.beforeCreateReply = async (call) => {
      if (first !== undefined) return;
      first = call.id;
      await h.sim.sendState(call.id, 'establishing');
      await h.sim.terminate(call.id, MEDIA_LOST);
    };
    const creates = h.sim.requestsTo('create').length;
    await h.join(JOIN);
    await h.drainRejoins();
    expect(await h.runtime.store.get(first!)).toBeUndefined();
    // The first create, then one rejoin.
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 2);
  });
});

describe('a rejoin whose create fails without making a call', () => {
  it('makes the next attempt once the join has heard nothing for its settle period', async () => {
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    await h.sim.sendState(callId, 'established');
    h.sim.failNext('create', { status: 503, times: 1 }); // Graph made no call, but a 503 cannot say so
    const creates = h.sim.requestsTo('create').length;
    await h.sim.terminate(callId, MEDIA_LOST);
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);

    h.clock.advanceMinutes(11);
    await h.drainRejoins();
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 2);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: callId, rejoinAttempts: 2 });
    expect(h.logs).toContainEqual(
      expect.objectContaining({ message: expect.stringContaining('no call was reported for it in 10 minutes') }),
    );
  });

  it('makes a rejoin attempt once, even when its queue message arrives twice', async () => {
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    const joinInfo = (await h.runtime.store.get(callId))!.joinInfo!;
    const creates = h.sim.requestsTo('create').length;
    const message = { kind: 'rejoin' as const, callId, joinInfo, attempt: 1 };
    await h.runtime.rejoinQueue.schedule(message, 0);
    await h.runtime.rejoinQueue.schedule(message, 0);
    await h.drainRejoins();
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);
    expect(h.logs).toContainEqual(expect.objectContaining({ message: expect.stringContaining('was already made') }));
  });
});

describe('a call of the bot’s own join that has no row and cannot be adopted', () => {
  it('is stored by the join’s settle message when no notification came to adopt it', async () => {
    const store = h.runtime.store;
    h.runtime.store = Object.assign(Object.create(store) as typeof store, {
      insert: () => Promise.reject(new Error('storage unavailable')),
    });
    h.sim.failNext('delete', { status: 500, times: 1 });
    try {
      expect((await h.join(JOIN)).status).toBe(202);
    } finally {
      h.runtime.store = store;
    }
    const call = h.sim.lastCreatedCall()!;
    const creates = h.sim.requestsTo('create').length;
    // A quiet meeting: no notification for the call. The settle message finds the call it recorded.
    h.clock.advanceMinutes(11);
    await h.drainRejoins();
    expect(await h.runtime.store.get(call.id)).toMatchObject({ joinInfo: expect.any(Object) });
    expect(h.sim.requestsTo('create')).toHaveLength(creates);
  });

  it('is hung up, not ignored, when its notification comes after its join was settled', async () => {
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    h.clock.advanceMinutes(11);
    await h.drainRejoins();
    await h.runtime.store.remove(callId); // the row lost for whatever reason; the call lives on
    await h.sim.sendState(callId, 'established');
    expect(h.sim.requestsTo('delete', callId).map((r) => r.status)).toEqual([204]);
    expect(h.logs).toContainEqual(expect.objectContaining({ message: expect.stringContaining(`Call ${callId}: a call of join`) }));
  });
});

describe('an early end whose rejoin cannot be queued', () => {
  it('is still rejoined once the create answers, after the termination asked for a redelivery', async () => {
    const working = h.runtime.rejoinQueue;
    const failing = {
      schedule: (m: Parameters<typeof working.schedule>[0], d: number) =>
        m.kind === 'rejoin' ? Promise.reject(new Error('queue unavailable')) : working.schedule(m, d),
    };
    let first: string | undefined;
    const statuses: number[] = [];
    h.sim.beforeCreateReply = async (call) => {
      if (first !== undefined) return;
      first = call.id;
      await h.sim.sendState(call.id, 'established'); // adopted
      h.runtime.rejoinQueue = failing;
      try {
        const body = h.sim.fromCall(terminatedNotification(call.id, MEDIA_LOST), call);
        statuses.push((await h.post(body)).status ?? 200);
      } finally {
        h.runtime.rejoinQueue = working;
      }
    };
    const creates = h.sim.requestsTo('create').length;
    await h.join(JOIN);
    await h.drainRejoins();
    expect(statuses).toEqual([503]);
    // The create's answer found the end not handled, and handled it: one rejoin, no row for the dead call.
    expect(await h.runtime.store.get(first!)).toBeUndefined();
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 2);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: first });
  });
});

describe('a rejoin message the host runs again', () => {
  it('goes on to the next attempt when the first run was refused and could not queue it', async () => {
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    const joinInfo = (await h.runtime.store.get(callId))!.joinInfo!;
    const message = { kind: 'rejoin' as const, callId, joinInfo, attempt: 1 };
    const handler = createMeetingRejoinHandler(() => h.runtime);
    const working = h.runtime.rejoinQueue;
    h.sim.failNext('create', { status: 429, retryAfterSeconds: 0, times: 4 });
    h.runtime.rejoinQueue = {
      schedule: (m, d) => (m.kind === 'rejoin' ? Promise.reject(new Error('queue unavailable')) : working.schedule(m, d)),
    };
    try {
      await expect(handler(message, testContext('meetingRejoin', h.logs))).rejects.toThrow('queue unavailable');
    } finally {
      h.runtime.rejoinQueue = working;
    }
    const creates = h.sim.requestsTo('create').length;
    // The host delivers the message again: the attempt is not repeated, but the next one is queued.
    expect(await handler(message, testContext('meetingRejoin', h.logs))).toBe('retryScheduled');
    await h.drainRejoins();
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: callId, rejoinAttempts: 2 });
  });
});

describe('a termination delivered twice at once', () => {
  it('rejoins the meeting once', async () => {
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    await h.sim.sendState(callId, 'established');
    const call = h.sim.calls.get(callId)!;
    call.state = 'terminated';
    const body = h.sim.fromCall(terminatedNotification(callId, MEDIA_LOST), call);
    const creates = h.sim.requestsTo('create').length;
    await Promise.all([h.post(body), h.post(body)]);
    await h.drainRejoins();
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);
  });
});

describe('a termination whose handling fails half-way', () => {
  it('is rejoined by Graph’s redelivery', async () => {
    const { callId } = (await h.join(JOIN)).jsonBody as { callId: string };
    await h.sim.sendState(callId, 'established');
    const call = h.sim.calls.get(callId)!;
    call.state = 'terminated';
    const body = h.sim.fromCall(terminatedNotification(callId, MEDIA_LOST), call);
    const store = h.runtime.store;
    h.runtime.store = Object.assign(Object.create(store) as typeof store, {
      remove: () => Promise.reject(new Error('storage unavailable')),
    });
    try {
      expect((await h.post(body)).status).toBe(503);
    } finally {
      h.runtime.store = store;
    }
    const creates = h.sim.requestsTo('create').length;
    expect((await h.post(body)).status).toBe(202);
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);
    expect(await h.runtime.store.get(h.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: callId });
  });
});
