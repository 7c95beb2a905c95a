import { setTimeout } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphClient, createGraphCredential } from '../../shared/graph/graphClient.js';
import { GraphClientCalls } from '../../shared/graph/graphCalls.js';
import { deadlineIn } from '../../shared/deadline.js';
import { answerRequest } from '../../shared/notifications/handleNotifications.js';
import { inject } from 'vitest';
import { incomingCallNotification, SIM_TENANT_ID } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';
import { SlowProxy, tablePortOf } from '../support/slowProxy.js';
import { idsInOnePartition } from '../support/callTable.js';

// answer and reject are not idempotent (https://learn.microsoft.com/en-us/graph/api/call-answer):
// an outcome that is not a clear 404 or 403 says nothing about whether Graph answered.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

describe('an answer whose outcome is unknown', () => {
  it.each([
    ['a gateway 504 after Graph answered', 504],
    ['a 503 after Graph answered', 503],
    ['a 500 after Graph answered', 500],
  ])('%s: sends one answer, keeps the row, and keeps the live call alive', async (_name, status) => {
    const call = h.sim.placeIncomingCall();
    h.sim.failNext('answer', { status, times: 1, afterWork: true });
    const response = await h.post(incomingCallNotification(call.id));
    expect(response.status).toBe(202);

    // No second POST: a repeat would be refused (409) and read as "not answered".
    expect(h.sim.requestsTo('answer', call.id).map((r) => [r.workStatus, r.status])).toEqual([[202, status]]);
    expect(h.sim.calls.get(call.id)!.state).toBe('establishing');
    expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'incoming' });
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: expect.stringContaining(`Call ${call.id}: answer outcome is ambiguous (Graph ${status}`),
      }),
    );

    // The first keepAlive settles it: Graph answered, so the call lives and is kept alive.
    h.clock.advanceMinutes(15);
    await h.sweep();
    expect(h.sim.requestsTo('keepAlive', call.id).map((r) => r.status)).toEqual([200]);
    expect(await h.runtime.store.get(call.id)).toBeDefined();
  });

  it('keeps the row when Graph refuses a repeat (409): the first answer may have gone through', async () => {
    const call = h.sim.placeIncomingCall();
    h.sim.failNext('answer', { status: 409, times: 1, code: 'Conflict' });
    await h.post(incomingCallNotification(call.id));
    expect(await h.runtime.store.get(call.id)).toBeDefined();
  });

  it('removes the row when the call is gone (404), so nothing is kept alive for it', async () => {
    const call = h.sim.placeIncomingCall();
    h.sim.endCallSilently(call.id);
    await h.post(incomingCallNotification(call.id));
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
  });

  it('retries a throttled answer (429: Graph did nothing) but does not wait past the answer deadline', async () => {
    const call = h.sim.placeIncomingCall();
    // 30 s is past the 12 s the bot allows itself for an ordinary call.
    h.sim.failNext('answer', { status: 429, retryAfterSeconds: 30, times: 1 });
    await h.post(incomingCallNotification(call.id));
    expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([429]);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ message: expect.stringContaining('a retry was not waited for: Retry-After 30 runs past the deadline') }),
    );
    // A 429 is certain: Graph did not answer, so nothing is tracked for the call.
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: expect.stringContaining(`Call ${call.id}: not answered before the 12 s answer deadline (Graph 429`),
      }),
    );
  });
});

describe('keepAlive retries', () => {
  it('still retries 503 for keepAlive, which is idempotent', async () => {
    const call = await h.establishedCall();
    h.sim.failNext('keepAlive', { status: 503, retryAfterSeconds: 0, times: 1, afterWork: true });
    expect(await h.runtime.graph.keepAlive(call.id)).toEqual({ ok: true });
    expect(h.sim.requestsTo('keepAlive', call.id).map((r) => r.status)).toEqual([503, 200]);
  });

  it('does not wait for a Retry-After longer than the time its deadline leaves', async () => {
    const call = await h.establishedCall();
    h.sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 120, times: 1 });
    const outcome = await h.runtime.graph.keepAlive(call.id);
    expect(outcome).toMatchObject({ ok: false, status: 429 });
    expect(h.sim.requestsTo('keepAlive', call.id)).toHaveLength(1);
  });

  it('stops waiting for a retry when the caller’s own deadline fires', async () => {
    const call = await h.establishedCall();
    h.sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 20, times: 1 });
    // The app's Graph client, told when it starts waiting to retry.
    let waiting!: () => void;
    const startedWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const graph = new GraphClientCalls(
      createGraphClient(h.runtime.config.graphBaseUrl, createGraphCredential(h.runtime.config.bot, h.runtime.managedIdentity)),
      undefined,
      (ms, signal) => {
        waiting();
        return setTimeout(ms, undefined, { signal });
      },
    );
    const budget = new AbortController();
    const pending = graph.keepAlive(call.id, budget.signal);
    await startedWaiting;
    budget.abort(new Error('sweep budget used up'));
    expect(await pending).toMatchObject({
      ok: false,
      status: 429,
      message: expect.stringContaining('the deadline passed while waiting to retry'),
    });
    expect(h.sim.requestsTo('keepAlive', call.id)).toHaveLength(1);
  });
});

describe('answer slots', () => {
  it('ends the wait for a slot at the answer deadline, and sends nothing for that call', async () => {
    const [first, second] = [h.sim.placeIncomingCall(), h.sim.placeIncomingCall()];
    // One slot, held by an answer Graph is slow to take.
    h.sim.latencyFor.answer = 1_500;
    try {
      const graph = new GraphClientCalls(
        createGraphClient(h.runtime.config.graphBaseUrl, createGraphCredential(h.runtime.config.bot, h.runtime.managedIdentity)),
        1,
      );
      const request = answerRequest('https://bot.example.test/api/calls');
      let firstSettled = false;
      const slow = graph.answer(first.id, request, deadlineIn(10_000)).finally(() => (firstSettled = true));
      const waiting = await graph.answer(second.id, request, deadlineIn(200));
      expect(waiting).toMatchObject({ ok: false, code: 'TimedOut', message: expect.stringContaining('No request sent') });
      // Settled at its own deadline, while the answer holding the slot was still under way.
      expect(firstSettled).toBe(false);
      expect(await slow).toEqual({ ok: true });
      // The slot, once free, sent nothing for the call whose deadline had passed.
      await setTimeout(100);
      expect(h.sim.requestsTo('answer', second.id)).toHaveLength(0);
    } finally {
      delete h.sim.latencyFor.answer;
    }
  });

  it('waits for an answer that had its slot when the deadline passed: it reached Graph, so it is not "nothing sent"', async () => {
    const call = h.sim.placeIncomingCall();
    h.sim.latencyFor.answer = 1_500;
    try {
      const graph = new GraphClientCalls(
        createGraphClient(h.runtime.config.graphBaseUrl, createGraphCredential(h.runtime.config.bot, h.runtime.managedIdentity)),
        1,
      );
      const outcome = await graph.answer(call.id, answerRequest('https://bot.example.test/api/calls'), deadlineIn(300));
      // Not `TimedOut` ("No request sent"), which would make the handler drop the row of a call
      // Graph may have answered: the aborted request's own outcome, which reads as ambiguous.
      expect(outcome.ok).toBe(false);
      expect(outcome).not.toMatchObject({ code: 'TimedOut' });
      expect(h.sim.requestsTo('answer', call.id)).toHaveLength(1);
    } finally {
      delete h.sim.latencyFor.answer;
    }
  });
});

describe('storage behind a proxy that is slow, or loses a response after the work is done', () => {
  let proxied: Harness;
  let proxy: SlowProxy;
  beforeAll(async () => {
    const connection = inject('storageConnectionString');
    proxy = await new SlowProxy(tablePortOf(connection)).start();
    proxied = await startHarness({
      CALLS_TABLE_CONNECTION: connection.replace(
        /TableEndpoint=http:\/\/127\.0\.0\.1:\d+\//,
        `TableEndpoint=http://127.0.0.1:${proxy.port}/`,
      ),
    });
    // The table exists before the storage turns slow.
    await proxied.runtime.store.get('warm-up');
  });
  afterAll(async () => {
    await proxied.stop();
    await proxy.stop();
  });

  it('does not send a policy-recording answer once its 5 s window has passed in storage, and logs the miss', async () => {
    const call = proxied.sim.placeIncomingCall();
    proxy.delayMs = 6_000;
    const invitation = incomingCallNotification(call.id, {
      applicationMetadata: { botData: { inviteReasons: ['PolicyBasedRecording'] } },
    });
    try {
      expect((await proxied.post(invitation)).status).toBe(202);
    } finally {
      proxy.delayMs = 0;
    }
    expect(proxied.sim.requestsTo('answer', call.id)).toHaveLength(0);
    expect(proxied.logs).toContainEqual({
      level: 'error',
      message: `Call ${call.id}: not answered: the 4 s answer deadline passed while storing the call (policy-based recording)`,
    });
    expect(proxied.logs.some((l) => l.message.includes(`Call ${call.id}: answered`))).toBe(false);
  });

  it('still answers the call: the storage SDK repeats the insert, and its 409 is the bot’s own row', async () => {
    const call = proxied.sim.placeIncomingCall();
    proxy.dropResponses = 1;
    expect((await proxied.post(incomingCallNotification(call.id))).status).toBe(202);
    expect(proxied.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    expect(proxied.logs).toContainEqual({ level: 'information', message: `Call ${call.id}: answered` });
  });

  it('answers every call of a burst once when the transaction holding their rows lost its response', async () => {
    // Calls of one partition, arriving together: the first row goes alone, the others in one transaction.
    const calls = idsInOnePartition(6).map((id) => proxied.sim.placeIncomingCall({ id }));
    // The transaction is stored, its answer lost; the storage SDK repeats it and gets 409.
    proxy.dropResponseTo = 'POST /devstoreaccount1/$batch';
    const statuses = await Promise.all(calls.map(async (call) => (await proxied.post(incomingCallNotification(call.id))).status));
    expect(proxy.dropResponseTo).toBeUndefined();
    expect(statuses).toEqual(calls.map(() => 202));
    for (const call of calls) expect(proxied.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    // The rows of the lost transaction (five, unless the burst split into more than one) were
    // each told apart from a duplicate's by their claim.
    const repeated = calls.filter((call) =>
      proxied.logs.some(
        (l) => l.message === `Call ${call.id}: its row was stored by a repeat of an insert whose answer was lost; answering`,
      ),
    );
    expect(repeated.length).toBeGreaterThanOrEqual(2);
  });

  it('still rejoins a meeting whose row delete lost its response (the SDK repeats it and gets 404)', async () => {
    const { callId } = (await proxied.join({ joinMeetingId: '1234567', passcode: 'p', tenantId: SIM_TENANT_ID })).jsonBody as {
      callId: string;
    };
    await proxied.sim.sendState(callId, 'established');
    const creates = proxied.sim.requestsTo('create').length;
    proxy.dropResponseTo = 'DELETE';
    await proxied.sim.terminate(callId, { code: 410, subcode: 301005, message: 'Media connection lost' });
    expect(await proxied.runtime.store.get(callId)).toBeUndefined();
    expect(proxied.sim.requestsTo('create')).toHaveLength(creates + 1);
  });

  it('still makes a rejoin attempt whose ledger entry’s insert lost its response (the SDK repeats it and gets 409)', async () => {
    const { callId } = (await proxied.join({ joinMeetingId: '7654321', passcode: 'p', tenantId: SIM_TENANT_ID })).jsonBody as {
      callId: string;
    };
    await proxied.sim.sendState(callId, 'established');
    const creates = proxied.sim.requestsTo('create').length;
    proxy.dropResponseTo = 'POST'; // the first insert after this: the rejoin's ledger entry
    await proxied.sim.terminate(callId, { code: 410, subcode: 301005, message: 'Media connection lost' });
    expect(proxied.sim.requestsTo('create')).toHaveLength(creates + 1);
    expect(await proxied.runtime.store.get(proxied.sim.lastCreatedCall()!.id)).toMatchObject({ rejoinedFrom: callId });
  });
});
