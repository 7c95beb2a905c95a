import { afterEach, describe, expect, it } from 'vitest';
import { createKeepAliveShardSweepHandler } from '../../functions/keepAliveShardSweep.js';
import { createKeepAliveSweepHandler, shardQueueOutput } from '../../functions/keepAliveSweep.js';
import type { CallStore } from '../../shared/calls/callStore.js';
import { CALL_PARTITIONS, partitionKeyOf } from '../../shared/calls/partitionKey.js';
import { SHARD_MAX_DEQUEUE_COUNT } from '../../shared/keepAlive/shardQueue.js';
import type { ShardSweepMessage } from '../../shared/keepAlive/shardSweepMessage.js';
import { ShardMessageRefused, type ShardSweepResult } from '../../shared/keepAlive/sweepFanOut.js';
import type { SweepRecord } from '../../shared/keepAlive/sweepStatus.js';
import { startHarness, testContext, timer, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(() => h.stop());

/** A harness, the timer's sweep with the shard messages its queue output binding hands the host, and one shard sweep. */
async function fanOutHarness(settings: Record<string, string>, store?: CallStore) {
  h = await startHarness(settings, store ? { store } : {});
  const shardSweep = createKeepAliveShardSweepHandler(() => h.runtime);
  const timerHandler = createKeepAliveSweepHandler(() => h.runtime);
  const timerSweep = async () => {
    const context = testContext('keepAliveSweep', h.logs);
    const result = await timerHandler(timer, context);
    return { result, messages: (context.extraOutputs.get(shardQueueOutput) ?? []) as ShardSweepMessage[] };
  };
  const runShard = (message: unknown, dequeueCount = 1) =>
    shardSweep(message, testContext('keepAliveShardSweep', h.logs, { dequeueCount }));
  return { runShard, timerSweep };
}

async function establishedCalls(count: number) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await h.establishedCall()).id);
  return ids;
}

describe('above SWEEP_FANOUT_THRESHOLD', () => {
  it('the timer hands out one message per shard, and the shard sweeps keep every due call alive once', async () => {
    const f = await fanOutHarness({ SWEEP_FANOUT_THRESHOLD: '2' });
    const ids = await establishedCalls(3);
    h.clock.advanceMinutes(15);

    const { result, messages } = await f.timerSweep();
    expect(result).toEqual({
      mode: 'fanned-out',
      activeAtLeast: 3,
      shards: 32,
      fannedOutSince: h.clock.now(),
      reason: 'above SWEEP_FANOUT_THRESHOLD',
      projection: expect.objectContaining({ basis: 'assumed' }),
    });
    expect(h.sim.requestsTo('keepAlive')).toHaveLength(0);
    expect(h.logs.some((l) => /handed out as 32 shard messages/.test(l.message))).toBe(true);
    expect(messages.map((m) => m.shard).sort()).toEqual([...CALL_PARTITIONS]);

    const results: ShardSweepResult[] = [];
    // The trigger hands the function the message as it was written: JSON text, parsed.
    for (const message of messages) results.push(await f.runShard(JSON.parse(JSON.stringify(message))));
    const swept = results.filter((r) => r.kind === 'swept');
    expect(swept).toHaveLength(32);
    expect(swept.reduce((sum, r) => sum + r.summary.ok, 0)).toBe(3);
    for (const r of swept) {
      const inShard = ids.filter((id) => partitionKeyOf(id) === r.shard).length;
      expect(r.summary).toMatchObject({ active: inShard, ok: inShard });
    }
    for (const id of ids) expect(h.sim.calls.get(id)!.keepAlives).toBe(1);
    expect(h.logs.filter((l) => /^keepAlive sweep shard-\d\d: active=/.test(l.message))).toHaveLength(32);
  });

  it('a shard swept twice in one period sends no extra keepAlives', async () => {
    const f = await fanOutHarness({ SWEEP_FANOUT_THRESHOLD: '0' });
    const [id] = await establishedCalls(1);
    h.clock.advanceMinutes(15);
    const message = { shard: partitionKeyOf(id!), sweepStartedAt: h.clock.now().toISOString() };

    expect(await f.runShard(message)).toMatchObject({ kind: 'swept', summary: { active: 1, due: 1, ok: 1 } });
    expect(await f.runShard(message, 2)).toMatchObject({ kind: 'swept', summary: { active: 1, due: 0, sent: 0 } });
    expect(h.sim.calls.get(id!)!.keepAlives).toBe(1);
  });

  it('refuses a message that is not a shard sweep, so the host’s retries end in the poison queue', async () => {
    const f = await fanOutHarness({ SWEEP_FANOUT_THRESHOLD: '0' });
    await establishedCalls(1);
    h.clock.advanceMinutes(15);

    await expect(f.runShard({ shard: 'shard-99', sweepStartedAt: 'yesterday' })).rejects.toThrow(ShardMessageRefused);
    await expect(f.runShard('not json', SHARD_MAX_DEQUEUE_COUNT)).rejects.toThrow('message is not JSON');
    const errors = h.logs.filter((l) => l.level === 'error').map((l) => l.message);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/attempt 1 of 5: it will be retried.*shard is not a call partition.*sweepStartedAt/);
    expect(errors[1]).toMatch(/attempt 5 of 5: the host moves it to keepalive-shards-poison/);
    expect(h.sim.requestsTo('keepAlive')).toHaveLength(0);
  });

  it('lets a failing shard sweep be retried by the host, and says when the last attempt sends it to the poison queue', async () => {
    const failingStore: CallStore = {
      prepare: () => Promise.reject(new Error('not used')),
      get: () => Promise.reject(new Error('not used')),
      insert: () => Promise.reject(new Error('not used')),
      update: () => Promise.reject(new Error('not used')),
      remove: () => Promise.reject(new Error('not used')),
      recordKeepAliveResults: () => Promise.reject(new Error('not used')),
      countUpTo: () => Promise.reject(new Error('not used')),
      listPage: () => Promise.reject(new Error('not used')),
      countActive: () => Promise.reject(new Error('not used')),
      // eslint-disable-next-line require-yield -- a table that fails before its first page
      pages: async function* () {
        throw new Error('table unreachable');
      },
    };
    const f = await fanOutHarness({ SWEEP_FANOUT_THRESHOLD: '0' }, failingStore);
    const message = { shard: CALL_PARTITIONS[0], sweepStartedAt: new Date().toISOString() };

    await expect(f.runShard(message, 1)).rejects.toThrow('table unreachable');
    await expect(f.runShard(message, SHARD_MAX_DEQUEUE_COUNT)).rejects.toThrow('table unreachable');
    const errors = h.logs.filter((l) => l.level === 'error').map((l) => l.message);
    expect(errors[0]).toMatch(/attempt 1 of 5: it will be retried.*table unreachable/);
    expect(errors[1]).toMatch(/attempt 5 of 5: the host moves it to keepalive-shards-poison.*table unreachable/);
  });
});

it('at or below the threshold the timer sweeps in-process and enqueues nothing', async () => {
  const f = await fanOutHarness({ SWEEP_FANOUT_THRESHOLD: '3' });
  await establishedCalls(3);
  h.clock.advanceMinutes(15);
  const { result, messages } = await f.timerSweep();
  expect(result).toMatchObject({ mode: 'inline', summary: { active: 3, ok: 3 } });
  expect(messages).toEqual([]);
});

describe('when the calls cannot be counted before the timer decides', () => {
  /** The harness's store, but with `countUpTo` replaced; records the signal the count was given. */
  function countingWith(countUpTo: (limit: number, signal?: AbortSignal) => Promise<number>) {
    const store = h.runtime.store;
    const seen: { signal?: AbortSignal } = {};
    h.runtime.store = Object.assign(Object.create(store) as typeof store, {
      countUpTo: (limit: number, signal?: AbortSignal) => {
        seen.signal = signal;
        return countUpTo(limit, signal);
      },
    });
    return seen;
  }

  /** One timer run with the count working: an inline sweep that came through, on record; then the next run's time. */
  async function inlineRunOnRecord(f: Awaited<ReturnType<typeof fanOutHarness>>) {
    const { result } = await f.timerSweep();
    expect(result).toMatchObject({ mode: 'inline' });
    h.clock.advanceMinutes(5);
  }

  it('does not wait on a count that takes too long: it calls the count off and, as its last run did, sweeps the calls itself', async () => {
    const f = await fanOutHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
    const ids = await establishedCalls(3);
    h.clock.advanceMinutes(15);
    await inlineRunOnRecord(f);
    const seen = countingWith(() => new Promise(() => {}));

    const { result, messages } = await f.timerSweep();
    expect(result).toMatchObject({ mode: 'inline', summary: { active: 3, ok: 3 } });
    expect(messages).toEqual([]);
    for (const id of ids) expect(h.sim.calls.get(id)!.keepAlives).toBe(2);
    // The count's reads are called off with it, not left paging beside the sweep.
    expect(seen.signal?.aborted).toBe(true);
    expect(h.logs).toContainEqual({
      level: 'warning',
      message:
        'keepAlive sweep: the calls could not be counted (no count within 5000 ms); the timer sweeps them itself, as fast as Graph allows, as its last run did',
    });
  }, 20_000);

  it('sweeps the calls itself when the count fails after an inline run that came through', async () => {
    const f = await fanOutHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
    const ids = await establishedCalls(3);
    h.clock.advanceMinutes(15);
    await inlineRunOnRecord(f);
    countingWith(() => Promise.reject(new Error('Table service unavailable')));

    const { result } = await f.timerSweep();
    expect(result).toMatchObject({ mode: 'inline', summary: { active: 3, ok: 3 } });
    for (const id of ids) expect(h.sim.calls.get(id)!.keepAlives).toBe(2);
  });

  it('hands the sweep out when the count fails after a failed run (an inline sweep failing on one partition every run would never reach the ones after it)', async () => {
    const f = await fanOutHarness({});
    const ids = await establishedCalls(3);
    h.clock.advanceMinutes(15);
    await h.runtime.sweepStatus.record({
      scope: 'timer',
      startedAt: h.clock.now(),
      finishedAt: h.clock.now(),
      outcome: 'failed',
      error: 'a page of the table could not be read',
    });
    countingWith(() => Promise.reject(new Error('Table service unavailable')));

    const { result, messages } = await f.timerSweep();
    expect(result).toMatchObject({
      mode: 'fanned-out',
      activeAtLeast: undefined,
      reason: 'the calls could not be counted, and the last timer run failed',
    });
    expect(h.logs).toContainEqual({
      level: 'warning',
      message:
        'keepAlive sweep: the calls could not be counted (Table service unavailable); the sweep is handed out shard by shard: the last timer run failed',
    });
    for (const message of messages) await f.runShard(message);
    for (const id of ids) expect(h.sim.calls.get(id)!.keepAlives).toBe(1);
  });

  it('hands the sweep out when the count fails and the last inline run on record is not the one just before', async () => {
    // A run in between left no record (its write failed on the same failing store): the inline
    // run on record says nothing about sweeping inline now.
    const f = await fanOutHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
    await establishedCalls(2);
    await inlineRunOnRecord(f);
    // 8 minutes old: the run before the last (the last one, 5 minutes after it, left no record).
    h.clock.advanceMinutes(3);
    countingWith(() => Promise.reject(new Error('Table service unavailable')));
    const { result, messages } = await f.timerSweep();
    expect(result).toMatchObject({
      mode: 'fanned-out',
      reason: 'the calls could not be counted, and the last timer run on record is not the one just before',
    });
    expect(messages).toHaveLength(32);
  });

  it('hands the sweep out when the count fails with SWEEP_FANOUT_THRESHOLD 0, whatever the run before did', async () => {
    const f = await fanOutHarness({ SWEEP_FANOUT_THRESHOLD: '0', KEEPALIVE_INTERVAL_MINUTES: '0' });
    // With no calls yet, the timer's run sweeps inline (nothing to hand out) and comes through.
    await inlineRunOnRecord(f);
    await establishedCalls(2);
    countingWith(() => Promise.reject(new Error('Table service unavailable')));
    const { result, messages } = await f.timerSweep();
    expect(result).toMatchObject({ mode: 'fanned-out', reason: 'the calls could not be counted, and SWEEP_FANOUT_THRESHOLD is 0' });
    expect(messages).toHaveLength(32);
  });

  it('hands the sweep out when the count fails and no earlier timer run is on record', async () => {
    const f = await fanOutHarness({});
    await establishedCalls(2);
    h.clock.advanceMinutes(15);
    countingWith(() => Promise.reject(new Error('Table service unavailable')));
    const { result, messages } = await f.timerSweep();
    expect(result).toMatchObject({ mode: 'fanned-out', reason: 'the calls could not be counted, and no earlier timer run is on record' });
    expect(messages).toHaveLength(32);
  });

  it('hands the sweep out without a count while the fan-out is held', async () => {
    const f = await fanOutHarness({});
    await establishedCalls(2);
    h.clock.advanceMinutes(15);
    // The previous timer sweep ran out of its budget: the next hour is handed out.
    await h.runtime.sweepStatus.record({
      scope: 'timer',
      startedAt: h.clock.now(),
      finishedAt: h.clock.now(),
      outcome: 'partial',
      summary: {
        active: 500,
        due: 500,
        sent: 400,
        ok: 400,
        ended: 0,
        failed: 0,
        unreadable: 0,
        skippedForBudget: 100,
        peakInFlight: 16,
        meanLatencyMs: 500,
        latencySamples: 400,
        budgetExhausted: false,
        durationMs: 180_000,
        oldestKeepAliveAgeMinutes: 0,
      },
    });
    countingWith(() => Promise.reject(new Error('Table service unavailable')));

    const { result, messages } = await f.timerSweep();
    expect(result).toMatchObject({
      mode: 'fanned-out',
      activeAtLeast: undefined,
      reason: 'the previous timer sweep ran out of its budget (handed out for the next hour)',
    });
    expect(messages.map((m) => m.shard).sort()).toEqual([...CALL_PARTITIONS]);
    expect(h.logs).toContainEqual({
      level: 'warning',
      message:
        'keepAlive sweep: the calls could not be counted (Table service unavailable); the sweep is handed out shard by shard: the fan-out is held',
    });
    expect(h.logs).toContainEqual({
      level: 'information',
      message:
        'keepAlive sweep: active calls not counted, the previous timer sweep ran out of its budget (handed out for the next hour); handed out as 32 shard messages',
    });
  });
});

describe('below SWEEP_FANOUT_THRESHOLD, the projection from recent sweeps decides', () => {
  /** A recent shard sweep that saw Graph answer in `meanLatencyMs` with 16 in flight. */
  const graphSeen = (meanLatencyMs: number) =>
    h.runtime.sweepStatus.record({
      scope: 'shard-07',
      startedAt: h.clock.now(),
      finishedAt: h.clock.now(),
      outcome: 'ok',
      summary: {
        active: 60,
        due: 60,
        sent: 60,
        ok: 60,
        ended: 0,
        failed: 0,
        unreadable: 0,
        skippedForBudget: 0,
        peakInFlight: 16,
        meanLatencyMs,
        latencySamples: 60,
        budgetExhausted: false,
        durationMs: 1000,
        oldestKeepAliveAgeMinutes: 0,
      },
    });

  /** The timer's run over 4 due calls, after a recent sweep saw Graph answer in `meanLatencyMs`. */
  async function timerSweepAfterGraphSaw(meanLatencyMs: number, settings: Record<string, string> = {}) {
    const f = await fanOutHarness({ KEEPALIVE_SWEEP_BUDGET_SECONDS: '30', ...settings });
    await graphSeen(meanLatencyMs);
    await establishedCalls(4);
    h.clock.advanceMinutes(15);
    return f.timerSweep();
  }

  it('hands out a table one instance cannot keep alive in the budget at the latency Graph showed', async () => {
    // 0.7 x 16 in flight / 100 s a keepAlive x 30 s: 3 calls in the budget.
    const { result, messages } = await timerSweepAfterGraphSaw(100_000);
    expect(result).toMatchObject({ mode: 'fanned-out', activeAtLeast: 4, projection: { capacity: 3, basis: 'observed' } });
    expect(messages).toHaveLength(32);
    expect(h.logs.map((l) => l.message)).toContain(
      'keepAlive sweep: 4+ active calls, more than one instance keeps about 3 calls alive in the sweep budget ' +
        '(16 in flight at 100000 ms, as recent sweeps saw Graph); handed out as 32 shard messages',
    );
  });

  it('sweeps inline what one instance can do at the latency Graph showed', async () => {
    const { result, messages } = await timerSweepAfterGraphSaw(50);
    expect(result).toMatchObject({ mode: 'inline', summary: { ok: 4 }, projection: { capacity: 6720, basis: 'observed' } });
    expect(messages).toEqual([]);
  });

  it('never hands out when fan-out is off, whatever Graph showed', async () => {
    const { result, messages } = await timerSweepAfterGraphSaw(100_000, { SWEEP_FANOUT: 'off', SWEEP_FANOUT_THRESHOLD: '0' });
    expect(result).toMatchObject({ mode: 'inline', summary: { ok: 4 }, projection: undefined });
    expect(messages).toEqual([]);
  });

  /** The timer's run over 2 due calls, with the sweep records read as `all` reads them. */
  async function timerSweepOverRecords(all: () => Promise<SweepRecord[]>) {
    const f = await fanOutHarness({});
    h.runtime.sweepStatus.all = all;
    await establishedCalls(2);
    h.clock.advanceMinutes(15);
    return f.timerSweep();
  }

  it('plans on a slow Graph when the records hold something the projection trips on', async () => {
    const trap = { scope: 'shard-01', startedAt: h.clock.now(), finishedAt: h.clock.now(), outcome: 'ok' as const };
    Object.defineProperty(trap, 'summary', {
      get: () => {
        throw new Error('a column of the wrong type');
      },
    });
    const { result } = await timerSweepOverRecords(() => Promise.resolve([trap]));
    expect(result).toMatchObject({ mode: 'inline', summary: { ok: 2 }, projection: { basis: 'assumed' } });
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(/could not be used to project the sweep \(a column of the wrong type\); it plans on a slow Graph/),
    });
  });

  it('does not wait on sweep records that take too long: it plans on a slow Graph and sweeps', async () => {
    const { result } = await timerSweepOverRecords(() => new Promise(() => {}));
    expect(result).toMatchObject({ mode: 'inline', summary: { ok: 2 }, projection: { basis: 'assumed' } });
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(/sweep records could not be read, so the sweep plans on a slow Graph.*no answer within 5000 ms/),
    });
  }, 20_000);
});

it('host.json gives up on a shard message after the attempts the function counts with', async () => {
  const { readFile } = await import('node:fs/promises');
  const host = JSON.parse(await readFile(new URL('../../host.json', import.meta.url), 'utf8'));
  expect(host.extensions.queues.maxDequeueCount).toBe(SHARD_MAX_DEQUEUE_COUNT);
  // The queue messages are written base64-encoded, which is what the trigger decodes by default.
  expect(host.extensions.queues.messageEncoding).toBe('base64');
});
