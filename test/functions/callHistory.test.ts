import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { historyRecordOf, type CallHistory } from '../../shared/history/callHistory.js';
import { terminatedNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';

// The record of every ended call (https://learn.microsoft.com/en-us/graph/api/call-delete, "Call
// end reason codes", for the resultInfo each kind of end carries).

const U1 = '112f7296-5fa4-42ca-bae8-6a692b15d4b8';
const PROMPT = 'https://cdn.example.test/incident.wav';
const NORMAL_END = { code: 200, subcode: 7000, message: 'Call ended by the application' };

type Ended = Record<string, unknown> & { id: string; state: string };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', CALL_HISTORY_DAYS: '7' });
});
afterAll(() => h.stop());

async function placed(body: Record<string, unknown>): Promise<string> {
  const response = await h.placeCall({ targets: [{ userId: U1, displayName: 'On-call engineer' }], ...body });
  expect(response.status).toBe(201);
  return (response.jsonBody as { callId: string }).callId;
}

const ended = async (id: string) => (await h.getCall(id)).jsonBody as Ended;

describe('the record of an ended call', () => {
  it('says the engineer answered, heard the prompt and pressed 1, with the call end Graph reported', async () => {
    const callId = await placed({ prompt: PROMPT, collectTone: true, clientContext: 'incident-42' });
    await h.sim.answerOutgoing(callId);
    await h.sim.idle();
    await h.sim.pressKey(callId, 'tone1');
    h.clock.advanceMinutes(15);
    await h.sweep();
    expect((await h.hangUp(callId)).status).toBe(202);
    await h.sim.idle();

    expect(await h.runtime.store.get(callId)).toBeUndefined();
    const response = await h.getCall(callId);
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      id: callId,
      state: 'terminated',
      direction: 'outgoing',
      targets: [{ kind: 'user', userId: U1, displayName: 'On-call engineer' }],
      answered: true,
      establishedAt: expect.any(String) as string,
      resultInfo: NORMAL_END,
      endedBy: 'notification',
      prompt: { uri: PROMPT, status: 'completed' },
      tones: ['tone1'],
      keepAlivesSent: 1,
      clientContext: 'incident-42',
    });
  });

  it('records a callee who never picked up as not answered, with the resultInfo Graph sent', async () => {
    const callId = await placed({ prompt: PROMPT });
    await h.sim.ringUnanswered(callId);
    expect(await ended(callId)).toMatchObject({
      state: 'terminated',
      answered: false,
      establishedAt: null,
      resultInfo: { code: 408, subcode: 10057 },
      // Never played: it waited for the call to be established.
      prompt: { uri: PROMPT, status: 'pending' },
      tones: [],
    });
  });

  it('records an incoming call with its caller, and a call whose keepAlive found it over', async () => {
    const incoming = await h.establishedCall();
    await h.post(terminatedNotification(incoming.id, { code: 200, subcode: 18503, message: 'The other participant left' }));
    expect(await ended(incoming.id)).toMatchObject({
      direction: 'incoming',
      caller: { user: { displayName: 'Test User', id: '8A34A46B-3D17-4ADC-8DCE-DC4E7D572698' } },
      answered: true,
      resultInfo: { code: 200, subcode: 18503 },
    });

    const silent = await h.establishedCall();
    h.sim.endCallSilently(silent.id);
    h.clock.advanceMinutes(15);
    await h.sweep();
    expect(await ended(silent.id)).toMatchObject({ direction: 'incoming', resultInfo: null, endedBy: 'keepAlive404' });
  });

  it('records a call whose hang-up found it over, from the row the hang-up read to mark it', async () => {
    const call = await h.establishedCall();
    h.sim.endCallSilently(call.id);
    const reads = vi.spyOn(h.runtime.store, 'get');
    try {
      expect((await h.hangUp(call.id)).status).toBe(200);
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
    }
    expect(await ended(call.id)).toMatchObject({ direction: 'incoming', answered: true, resultInfo: null, endedBy: 'hangUp404' });
  });

  it('answers 404 for a call it never knew', async () => {
    expect((await h.getCall('6f1a0b00-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('GET /api/calls/history', () => {
  it('lists ended calls newest first, a page at a time, and from `since` on', async () => {
    // Earlier tests' calls ended before now: a minute on, these three are the newest.
    h.clock.advanceMinutes(1);
    const first = await placed({ clientContext: 'first' });
    await h.sim.ringUnanswered(first);
    h.clock.advanceMinutes(1);
    const since = h.clock.now();
    const second = await placed({ clientContext: 'second' });
    await h.sim.ringUnanswered(second);
    h.clock.advanceMinutes(1);
    const third = await placed({ clientContext: 'third' });
    await h.sim.ringUnanswered(third);

    const page1 = await h.history('pageSize=2');
    expect(page1.status).toBe(200);
    const body1 = page1.jsonBody as { calls: Ended[]; continuationToken?: string };
    expect(body1.calls.map((c) => c.id)).toEqual([third, second]);
    expect(body1.calls.every((c) => c.state === 'terminated')).toBe(true);
    const page2 = (await h.history(`pageSize=2&continuationToken=${encodeURIComponent(body1.continuationToken!)}`)).jsonBody as {
      calls: Ended[];
    };
    expect(page2.calls[0]!.id).toBe(first);

    const recent = (await h.history(`since=${encodeURIComponent(since.toISOString())}`)).jsonBody as { calls: Ended[] };
    expect(recent.calls.map((c) => c.id)).toEqual([third, second]);
  });

  it('keeps the first record of a call: a second (two deliveries of its end at once) adds no second entry', async () => {
    const call = await h.establishedCall();
    const row = (await h.runtime.store.get(call.id))!;
    const endedAt = h.clock.now();
    const record = (at: Date) =>
      h.runtime.history.record(historyRecordOf(row, { endedAt: at, resultInfo: NORMAL_END, endedBy: 'notification' }));
    await record(endedAt);
    await record(new Date(endedAt.getTime() + 1500));
    const listed = ((await h.history('pageSize=1000')).jsonBody as { calls: Ended[] }).calls.filter((c) => c.id === call.id);
    expect(listed.map((c) => c.endedAt)).toEqual([endedAt.toISOString()]);
  });

  it('is what GET /api/calls/history reaches even through the {id} route', async () => {
    const viaId = await h.getCall('history');
    expect(viaId.status).toBe(200);
    expect(Array.isArray((viaId.jsonBody as { calls: unknown[] }).calls)).toBe(true);
  });

  it.each([
    ['since=yesterday', 'since must be an ISO 8601 date'],
    ['since=2026-13-45', 'since must be an ISO 8601 date'],
    ['pageSize=0', 'pageSize must be a whole number from 1 to 1000'],
    ['continuationToken=bogus', 'continuationToken is not one this listing handed out'],
  ])('answers 400 for %s', async (query, reason) => {
    const response = await h.history(query);
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.jsonBody)).toContain(reason);
  });

  it('forgets calls older than CALL_HISTORY_DAYS at the next run of its retention timer', async () => {
    const old = await placed({});
    await h.sim.ringUnanswered(old);
    h.clock.advanceMinutes(6 * 24 * 60);
    const recent = await placed({});
    await h.sim.ringUnanswered(recent);
    h.clock.advanceMinutes(24 * 60 + 1);
    expect(await h.pruneHistory()).toBeGreaterThanOrEqual(1);
    expect((await h.getCall(old)).status).toBe(404);
    expect((await h.getCall(recent)).status).toBe(200);
    expect(h.logs.some((l) => /^Call history: \d+ record\(s\) older than 7 day\(s\) removed$/.test(l.message))).toBe(true);
  });
});

describe('a history that cannot be written', () => {
  it('costs the live path nothing: the row still goes, the notification is answered, the failure is logged', async () => {
    const broken: CallHistory = {
      record: () => Promise.reject(new Error('history table unavailable')),
      get: () => Promise.resolve(undefined),
      listPage: () => Promise.resolve({ calls: [], continuationToken: undefined }),
      removeEndedBefore: () => Promise.resolve(0),
    };
    const b = await startHarness({}, { history: broken });
    try {
      const call = await b.establishedCall();
      const response = await b.post(terminatedNotification(call.id, NORMAL_END));
      expect(response.status).toBe(202);
      expect(await b.runtime.store.get(call.id)).toBeUndefined();
      expect(b.logs).toContainEqual({
        level: 'warning',
        message: `Call ${call.id}: its history record was not written (history table unavailable)`,
      });
    } finally {
      await b.stop();
    }
  });

  it('holds no keepAlive: a history that never answers is given up after 3 s, once the keepAlives are done', async () => {
    const hanging: CallHistory = {
      record: () => new Promise<void>(() => undefined),
      get: () => Promise.resolve(undefined),
      listPage: () => Promise.resolve({ calls: [], continuationToken: undefined }),
      removeEndedBefore: () => Promise.resolve(0),
    };
    const b = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' }, { history: hanging });
    try {
      const live = await b.establishedCall();
      const over = await b.establishedCall();
      b.sim.endCallSilently(over.id);
      const summary = await b.sweep();
      expect(summary).toMatchObject({ sent: 2, ok: 1, ended: 1, failed: 0 });
      expect(b.sim.calls.get(live.id)!.keepAlives).toBe(1);
      expect(b.logs).toContainEqual({
        level: 'warning',
        message: `Call ${over.id}: its history record was not written (no answer within 3 s)`,
      });
    } finally {
      await b.stop();
    }
  });
});
