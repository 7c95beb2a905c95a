import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_SWEEP_BUDGET_MS } from '../../shared/keepAlive/sweepBudget.js';
import type { ShardQueue } from '../../shared/keepAlive/shardQueue.js';
import type { ShardSweepMessage } from '../../shared/keepAlive/shardSweepMessage.js';
import { runScheduledSweep, sweepShardFromMessage } from '../../shared/keepAlive/sweepFanOut.js';
import { fanOutDepsOf } from '../../functions/app/runtime.js';
import { sweepKeepAlive } from '../../shared/keepAlive/sweepKeepAlive.js';
import { startHarness, testContext, type Harness } from '../support/harness.js';
import { writeRawColumns } from '../support/callTable.js';

let h: Harness;
afterEach(() => h.stop());

describe('with the default 15-minute interval', () => {
  beforeEach(async () => {
    h = await startHarness();
  });

  it('leaves a call alone until 15 minutes after its start, then keeps it alive with the app token', async () => {
    const call = await h.establishedCall();

    h.clock.advanceMinutes(14);
    expect(await h.sweep()).toMatchObject({ active: 1, due: 0, sent: 0 });
    expect(h.sim.requestsTo('keepAlive')).toHaveLength(0);

    h.clock.advanceMinutes(1);
    const summary = await h.sweep();
    expect(summary).toMatchObject({ active: 1, due: 1, sent: 1, ok: 1, ended: 0, failed: 0, oldestKeepAliveAgeMinutes: 0 });
    const [keepAlive] = h.sim.requestsTo('keepAlive', call.id);
    expect(keepAlive!.authorization).toMatch(/^Bearer sim-graph-token-/);
    expect(keepAlive!.status).toBe(200);
    const row = await h.runtime.store.get(call.id);
    expect(row!.lastKeepAliveAt!.getTime()).toBe(h.clock.now().getTime());

    // The next one is due 15 minutes after the last success, not after the start.
    h.clock.advanceMinutes(10);
    expect(await h.sweep()).toMatchObject({ due: 0, oldestKeepAliveAgeMinutes: 10 });
    h.clock.advanceMinutes(5);
    expect(await h.sweep()).toMatchObject({ due: 1, ok: 1 });
    expect(h.sim.calls.get(call.id)!.keepAlives).toBe(2);
  });

  it('logs one summary line per sweep', async () => {
    await h.establishedCall();
    h.clock.advanceMinutes(20);
    await h.sweep();
    const lines = h.logs.filter((l) => l.message.startsWith('keepAlive sweep:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toMatch(
      /^keepAlive sweep: active=1 due=1 sent=1 ok=1 ended=0 failed=0 unreadable=0 skippedForBudget=0 peakInFlight=16 durationMs=\d+ oldestKeepAliveAgeMinutes=0$/,
    );
  });
});

describe('with KEEPALIVE_INTERVAL_MINUTES=0 (every sweep)', () => {
  beforeEach(async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '4' });
  });

  it('deletes the row of a call that ended on Graph (404) and never sends it another keepAlive', async () => {
    const live = await h.establishedCall();
    const ended = await h.establishedCall();
    h.sim.endCallSilently(ended.id);

    expect(await h.sweep()).toMatchObject({ active: 2, due: 2, sent: 2, ok: 1, ended: 1, failed: 0 });
    expect(await h.runtime.store.get(ended.id)).toBeUndefined();
    expect(await h.runtime.store.get(live.id)).toBeDefined();
    expect(h.sim.requestsTo('keepAlive', ended.id).map((r) => r.status)).toEqual([404]);

    expect(await h.sweep()).toMatchObject({ active: 1, sent: 1, ok: 1, ended: 0 });
    expect(h.sim.requestsTo('keepAlive', ended.id)).toHaveLength(1);
  });

  it('retries 429, 503 and 504 within the sweep, honouring Retry-After', async () => {
    const call = await h.establishedCall();
    h.sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 1, times: 1 });
    h.sim.failNext('keepAlive', { status: 503, retryAfterSeconds: 1, times: 1 });
    h.sim.failNext('keepAlive', { status: 504, retryAfterSeconds: 0, times: 1 });

    expect(await h.sweep()).toMatchObject({ sent: 1, ok: 1, failed: 0 });
    const attempts = h.sim.requestsTo('keepAlive', call.id);
    expect(attempts.map((r) => r.status)).toEqual([429, 503, 504, 200]);
    expect(attempts[1]!.receivedAt - attempts[0]!.receivedAt).toBeGreaterThanOrEqual(950);
    expect(attempts[2]!.receivedAt - attempts[1]!.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('keeps the row through persistent 5xx, counts the failures, and recovers', async () => {
    const call = await h.establishedCall();
    h.sim.failNext('keepAlive', { status: 500, times: 2 });

    expect(await h.sweep()).toMatchObject({ sent: 1, ok: 0, failed: 1 });
    expect(await h.sweep()).toMatchObject({ sent: 1, ok: 0, failed: 1 });
    let row = await h.runtime.store.get(call.id);
    expect(row).toMatchObject({ keepAliveFailures: 2, state: 'established' });
    expect(row!.lastKeepAliveAt).toBeUndefined();
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: 'warning', message: expect.stringContaining(`Call ${call.id}: keepAlive failed (Graph 500`) }),
    );
    // 500 is not retried within the sweep: one request per sweep.
    expect(h.sim.requestsTo('keepAlive', call.id)).toHaveLength(2);

    expect(await h.sweep()).toMatchObject({ ok: 1, failed: 0 });
    row = await h.runtime.store.get(call.id);
    expect(row!.keepAliveFailures).toBe(0);
    expect(row!.lastKeepAliveAt).toBeInstanceOf(Date);
  });

  it('never has more keepAlives in flight than KEEPALIVE_MAX_IN_FLIGHT', async () => {
    for (let i = 0; i < 12; i++) await h.establishedCall();
    h.sim.latencyMs = 50;
    h.sim.peakInFlight = 0;
    expect(await h.sweep()).toMatchObject({ active: 12, sent: 12, ok: 12 });
    expect(h.sim.peakInFlight).toBe(4);
  });
});

describe('reading the table page by page', () => {
  beforeEach(async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
  });

  it('visits every call across several pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await h.establishedCall()).id);
    const pages: number[] = [];
    for await (const page of h.runtime.store.pages({ pageSize: 3 })) pages.push(page.calls.length);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(7);
    expect(Math.max(...pages)).toBeLessThanOrEqual(3);
    expect(await h.sweep()).toMatchObject({ active: 7, ok: 7 });
    for (const id of ids) expect(h.sim.calls.get(id)!.keepAlives).toBe(1);
  });

  it('keeps the in-flight limit across page boundaries, with several pages under way at once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await h.establishedCall()).id);
    h.sim.latencyMs = 30;
    h.sim.peakInFlight = 0;
    const { store, graph, clock } = h.runtime;
    const summary = await sweepKeepAlive({ store, graph, clock, log: console, intervalMinutes: 0, maxInFlight: 3, pageSize: 4 });
    expect(summary).toMatchObject({ active: 20, sent: 20, ok: 20 });
    expect(h.sim.peakInFlight).toBe(3);
    for (const id of ids) expect((await store.get(id))!.lastKeepAliveAt).toEqual(clock());
  });
});

describe('rows this version cannot read', () => {
  beforeEach(async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
  });

  const spoil = async (columns: Record<string, unknown>) => {
    const call = await h.establishedCall();
    await writeRawColumns(h.runtime, call.id, columns);
    return call;
  };

  it('keeps sweeping past them: the healthy calls and the bad rows (by call id) are all kept alive', async () => {
    const healthy = [await h.establishedCall(), await h.establishedCall(), await h.establishedCall()];
    const badState = await spoil({ state: 'parked' });
    const badJson = await spoil({ chatInfo: '{"threadId":' });
    const badDate = await spoil({ createdAt: '2026-01-01T10:00:00Z' });

    const summary = await h.sweep();
    expect(summary).toMatchObject({ active: 6, unreadable: 3, due: 6, sent: 6, ok: 6, failed: 0 });
    for (const call of [...healthy, badState, badJson, badDate]) expect(h.sim.calls.get(call.id)!.keepAlives).toBe(1);
    for (const call of healthy) expect((await h.runtime.store.get(call.id))!.lastKeepAliveAt).toEqual(h.clock.now());

    const errors = h.logs.filter((l) => l.level === 'error').map((l) => l.message);
    expect(errors).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^Call ${badState.id}: its row cannot be read \\(state: "parked" is not a call state\\); its keepAlive is sent by call id`,
        ),
      ),
    );
    expect(errors).toContainEqual(expect.stringContaining(`Call ${badJson.id}: its row cannot be read (chatInfo: is not valid JSON)`));
    expect(errors).toContainEqual(expect.stringMatching(new RegExp(`^Call ${badDate.id}: its row cannot be read \\(createdAt: `)));
    expect(h.logs).toContainEqual({ level: 'warning', message: expect.stringMatching(/^keepAlive sweep: active=6 .* unreadable=3 /) });
  });

  it('removes a bad row, saying so, once keepAlive answers 404 for its call', async () => {
    const bad = await spoil({ state: 'parked' });
    h.sim.endCallSilently(bad.id);

    expect(await h.sweep()).toMatchObject({ unreadable: 1, sent: 1, ended: 1 });
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: `Call ${bad.id}: keepAlive answered 404, the call has ended; its unreadable row (state: "parked" is not a call state) removed`,
    });
    expect(await h.sweep()).toMatchObject({ active: 0, unreadable: 0, sent: 0 });
  });
});

describe('a call whose keepAlives keep failing with an error other than 404', () => {
  beforeEach(async () => {
    h = await startHarness();
  });

  it('is retried until 45 minutes without a success, then Graph is asked: GET 200 keeps the row, GET 404 removes it', async () => {
    const call = await h.establishedCall();
    // Consent revoked: every keepAlive is refused with 403 from now on.
    h.sim.failNext('keepAlive', { status: 403, code: 'Forbidden', times: Infinity });

    h.clock.advanceMinutes(20);
    expect(await h.sweep()).toMatchObject({ sent: 1, failed: 1, ended: 0 });
    h.clock.advanceMinutes(24);
    expect(await h.sweep()).toMatchObject({ sent: 1, failed: 1, ended: 0 });
    expect(h.sim.requestsTo('get', call.id)).toHaveLength(0);

    // 45 minutes since the start: Graph still has the call, so it is kept, loudly.
    h.clock.advanceMinutes(1);
    expect(await h.sweep()).toMatchObject({ sent: 1, failed: 1, ended: 0 });
    expect(h.sim.requestsTo('get', call.id).map((r) => r.status)).toEqual([200]);
    expect(await h.runtime.store.get(call.id)).toBeDefined();
    expect(h.logs).toContainEqual({
      level: 'error',
      message: expect.stringMatching(
        new RegExp(
          `^Call ${call.id}: no keepAlive has succeeded for 45 minutes \\(the latest: Graph 403 Forbidden: .*\\), yet Graph still has the call \\(GET 200\\)`,
        ),
      ),
    });

    // Asking fails: the row stays and the question is asked again next sweep.
    h.sim.failNext('get', { status: 500, times: 1 });
    h.clock.advanceMinutes(5);
    expect(await h.sweep()).toMatchObject({ failed: 1, ended: 0 });
    expect(await h.runtime.store.get(call.id)).toBeDefined();

    // The call is over at Graph: GET answers 404 and the row goes, with a line that says why.
    h.sim.endCallSilently(call.id);
    h.clock.advanceMinutes(5);
    expect(await h.sweep()).toMatchObject({ sent: 1, failed: 0, ended: 1 });
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.sim.requestsTo('get', call.id).map((r) => r.status)).toEqual([200, 500, 404]);
    expect(h.logs).toContainEqual({
      level: 'information',
      message: expect.stringMatching(
        new RegExp(
          `^Call ${call.id}: no keepAlive has succeeded for 55 minutes .*and Graph no longer knows the call \\(GET 404\\): it is over; removed$`,
        ),
      ),
    });
    expect(await h.sweep()).toMatchObject({ active: 0 });
  });
});

describe("the sweep's time budget", () => {
  beforeEach(async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
  });

  /** A budget that runs out the moment Graph receives the `nth` keepAlive, which is then still under way. */
  function budgetSpentAtKeepAlive(nth: number): AbortSignal {
    const budget = new AbortController();
    let seen = 0;
    h.sim.onGraphRequest = (action) => {
      if (action === 'keepAlive' && ++seen === nth) budget.abort(new Error('sweep budget spent'));
    };
    return budget.signal;
  }

  it('cuts short the 45-minute GET too when the budget runs out while it waits', async () => {
    const call = await h.establishedCall();
    h.sim.failNext('keepAlive', { status: 403, code: 'Forbidden', times: Infinity });
    h.sim.latencyFor.get = 120_000; // a GET that would outlast the sweep (and this test)
    const budget = new AbortController();
    h.sim.onGraphRequest = (action) => {
      if (action === 'get') budget.abort(new Error('sweep budget spent'));
    };
    h.clock.advanceMinutes(46);
    const deps = { ...fanOutDepsOf(h.runtime, testContext('keepAliveSweep', h.logs)), deadline: budget.signal };
    expect(await sweepKeepAlive(deps)).toMatchObject({ sent: 1, failed: 1, ended: 0 });
    expect(await h.runtime.store.get(call.id)).toBeDefined();
  });

  it('sends nothing once it runs out, cuts short the keepAlive under way, and still records results and summary', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await h.establishedCall()).id);
    h.sim.latencyMs = 50;
    const deps = { ...fanOutDepsOf(h.runtime, testContext('keepAliveSweep', h.logs)), maxInFlight: 1, deadline: budgetSpentAtKeepAlive(2) };
    const handedOut: ShardSweepMessage[] = [];
    const collect: ShardQueue = { enqueue: (messages) => (handedOut.push(...messages), Promise.resolve()) };

    const result = await runScheduledSweep(deps);
    expect(result).toMatchObject({
      mode: 'inline',
      summary: { active: 5, due: 5, sent: 2, ok: 1, failed: 1, skippedForBudget: 3, budgetExhausted: false },
    });
    expect(h.sim.requestsTo('keepAlive')).toHaveLength(2);
    const rows = await Promise.all(ids.map((id) => h.runtime.store.get(id)));
    // The one that succeeded is recorded; the one cut short is not counted against its call.
    expect(rows.filter((r) => r!.lastKeepAliveAt?.getTime() === h.clock.now().getTime())).toHaveLength(1);
    expect(rows.every((r) => r!.keepAliveFailures === 0)).toBe(true);
    expect(h.logs).toContainEqual({ level: 'warning', message: expect.stringMatching(/keepAlive cut short by the sweep's time budget/) });
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: 'keepAlive sweep: its time budget ran out; 3 due call(s) not sent; the next sweep takes them',
    });
    expect(await h.runtime.sweepStatus.all()).toMatchObject([
      { scope: 'timer', outcome: 'partial', summary: { sent: 2, ok: 1, skippedForBudget: 3 } },
    ]);

    // One instance did not manage the table in its budget: the next timer run hands it out, and
    // the shard sweeps, with time to spare, take the calls left over.
    h.sim.onGraphRequest = undefined;
    const next = await runScheduledSweep({ ...fanOutDepsOf(h.runtime, testContext('keepAliveSweep', h.logs)), queue: collect });
    expect(next).toMatchObject({ mode: 'fanned-out', reason: expect.stringMatching(/^the previous timer sweep ran out of its budget/) });
    const swept = await Promise.all(
      handedOut.map((m) => sweepShardFromMessage(m, fanOutDepsOf(h.runtime, testContext('keepAliveShardSweep', h.logs)))),
    );
    expect(swept.reduce((sum, r) => sum + r.summary.ok, 0)).toBe(5);

    // The projection says one instance would do: the hold keeps the fan-out on for the hour,
    // so the timer does not swing back to an instance that just ran out.
    const timerRun = () => runScheduledSweep({ ...fanOutDepsOf(h.runtime, testContext('keepAliveSweep', h.logs)), queue: collect });
    h.clock.advanceMinutes(55);
    expect(await timerRun()).toMatchObject({
      mode: 'fanned-out',
      reason: expect.stringMatching(/^a timer sweep ran out of its budget within the hour/),
    });
    h.clock.advanceMinutes(10);
    expect(await timerRun()).toMatchObject({ mode: 'inline', summary: { ok: 5 } });
  });

  it('stops reading the table once it runs out', async () => {
    for (let i = 0; i < 5; i++) await h.establishedCall();
    h.sim.latencyMs = 50;
    const { store, graph, clock } = h.runtime;
    const log = testContext('keepAliveSweep', h.logs);
    const summary = await sweepKeepAlive({
      store,
      graph,
      clock,
      log,
      intervalMinutes: 0,
      maxInFlight: 1,
      pageSize: 2,
      deadline: budgetSpentAtKeepAlive(1),
    });
    expect(summary).toMatchObject({ sent: 1, ok: 0, failed: 1, budgetExhausted: true });
    expect(summary.active).toBeLessThan(5);
    expect(summary.skippedForBudget).toBe(summary.due - 1);
    expect(h.sim.requestsTo('keepAlive')).toHaveLength(1);
  });

  it('ends well inside host.json functionTimeout, leaving time to record the results', async () => {
    const { readFile } = await import('node:fs/promises');
    const host = JSON.parse(await readFile(new URL('../../host.json', import.meta.url), 'utf8'));
    const [hours, minutes, seconds] = (host.functionTimeout as string).split(':').map(Number);
    const timeoutMs = ((hours! * 60 + minutes!) * 60 + seconds!) * 1000;
    expect(MAX_SWEEP_BUDGET_MS).toBeLessThanOrEqual(timeoutMs - 2 * 60_000);
    expect(fanOutDepsOf(h.runtime, console).deadline!.aborted).toBe(false);
  });
});
