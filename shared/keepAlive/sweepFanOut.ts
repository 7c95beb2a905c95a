import { CALL_PARTITIONS } from '../calls/partitionKey.js';
import { untilAborted } from '../deadline.js';
import type { ShardQueue } from './shardQueue.js';
import { parseShardSweepMessage } from './shardSweepMessage.js';
import { INITIAL_IN_FLIGHT, sweepKeepAlive, type SweepDeps, type SweepSummary } from './sweepKeepAlive.js';
import { KEEPALIVE_SWEEP_PERIOD_MINUTES } from './keepAliveSchedule.js';
import { budgetLeftMs } from './sweepBudget.js';
import { PACE_SHARE_OF_BUDGET, type SweepPace } from './sweepPace.js';
import { describeProjection, FAN_OUT_HOLD_MS, finishedWithin, inlineLimit, projectSweep, type SweepProjection } from './sweepProjection.js';
import { outcomeOf, TIMER_SCOPE, type SweepRecord, type SweepStatusStore } from './sweepStatus.js';

export interface FanOutDeps extends SweepDeps {
  queue: ShardQueue;
  /**
   * Above this many active calls the sweep is always handed out shard by shard; it also bounds the
   * count. Undefined: never handed out (SWEEP_FANOUT=off), the timer sweeps every call itself.
   */
  fanOutThreshold: number | undefined;
  /** KEEPALIVE_SWEEP_BUDGET_SECONDS in ms: the timer sweeps inline only what one instance can do in it. */
  sweepBudgetMs: number;
  /** Where each sweep's outcome is kept for the health check. */
  sweepStatus: SweepStatusStore;
}

export type ScheduledSweepResult =
  /** `projection` is undefined when fan-out is off (SWEEP_FANOUT=off). */
  | { mode: 'inline'; summary: SweepSummary; projection: SweepProjection | undefined }
  | {
      mode: 'fanned-out';
      /** Undefined when the calls could not be counted (see `uncountedReason`). */
      activeAtLeast: number | undefined;
      shards: number;
      fannedOutSince: Date | undefined;
      /** Why the sweep was handed out, for the log. */
      reason: string;
      projection: SweepProjection;
    };

// The sweep records are one small partition, read in one request; a store that cannot answer in
// this long gives no figures, and the sweep goes on with the assumed (cautious) projection.
const RECORDS_READ_LIMIT_MS = 5_000;
// A count of 100,000 calls is about 100 key-only reads, four deep: a store that takes longer is in
// trouble, and the sweep's time is better spent sending.
const COUNT_LIMIT_MS = 5_000;

/** A count given at most COUNT_LIMIT_MS; the same signal stops its reads, so a count given up on does not go on paging beside the sweep. */
function countInTime(count: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const limit = AbortSignal.timeout(COUNT_LIMIT_MS);
  return untilAborted(count(limit), limit, () => new Error(`no count within ${COUNT_LIMIT_MS} ms`));
}

/**
 * The timer's sweep. A timer runs on one instance at a time, so a table too large for one
 * instance is handed out as one queue message per partition instead: the queue trigger's
 * scale-out spreads those over instances. "Too large" is projected from what recent sweeps saw of
 * Graph (its latency, the in-flight count they reached) and what is left of the sweep budget (see
 * `sweepProjection.ts`), and is never more than SWEEP_FANOUT_THRESHOLD. An inline sweep that ran out
 * of its budget holds the fan-out on for an hour. Counting stops just past the inline limit, so
 * deciding costs at most limit / 1000 + 1 key-only reads. Nothing about the decision can stop the
 * sweep: without figures it plans on a slow Graph, and without a count it sweeps inline, unpaced,
 * only where its last run did so and came through (`uncountedReason`).
 */
export async function runScheduledSweep(deps: FanOutDeps): Promise<ScheduledSweepResult> {
  const startedAt = deps.clock();
  let fanOutHeldUntil: Date | undefined;
  const result = await recordingFailure(deps, TIMER_SCOPE, startedAt, async (): Promise<ScheduledSweepResult> => {
    if (deps.fanOutThreshold === undefined) {
      return { mode: 'inline', summary: await sweepKeepAlive({ ...deps, pace: await paceOf(deps, startedAt) }), projection: undefined };
    }
    const records = await recentRecords(deps);
    // The budget counts from the invocation's start: the records read and the count come out of it.
    const projection = projectionFrom(records, startedAt, budgetLeftMs(deps.sweepBudgetMs, startedAt, deps.clock()), deps);
    const inlineAtMost = inlineLimit(projection, deps.fanOutThreshold);
    const previous = records?.find((r) => r.scope === TIMER_SCOPE);
    fanOutHeldUntil =
      projection.hold === 'ranOut'
        ? new Date(startedAt.getTime() + FAN_OUT_HOLD_MS)
        : projection.hold === 'held'
          ? previous?.fanOutHeldUntil
          : undefined;
    const held = holdReason(projection, fanOutHeldUntil);
    const counted = await countForDecision(deps, inlineAtMost + 1);
    // Why the sweep is handed out; undefined: the timer sweeps inline.
    let reason: string | undefined;
    if (typeof counted === 'number') {
      reason = counted <= inlineAtMost ? undefined : (held ?? sizeReason(projection, deps.fanOutThreshold));
    } else {
      const why = uncountedReason(projection, records, previous, startedAt, deps.fanOutThreshold);
      deps.log.warn(
        `keepAlive sweep: the calls could not be counted (${counted.error}); ` +
          (why === undefined
            ? 'the timer sweeps them itself, as fast as Graph allows, as its last run did'
            : `the sweep is handed out shard by shard: ${why}`),
      );
      reason = why === undefined ? undefined : (held ?? `the calls could not be counted, and ${why}`);
    }
    if (reason === undefined) {
      // Paced to its count; without one, as fast as Graph allows.
      const pace = typeof counted === 'number' ? paceFor(counted, deps, startedAt) : undefined;
      return { mode: 'inline', summary: await sweepKeepAlive({ ...deps, pace }), projection };
    }
    const sweepStartedAt = startedAt.toISOString();
    await deps.queue.enqueue(CALL_PARTITIONS.map((shard) => ({ shard, sweepStartedAt })));
    const fannedOutSince = fanOutStretchStart(records, startedAt);
    const activeAtLeast = typeof counted === 'number' ? counted : undefined;
    return { mode: 'fanned-out', activeAtLeast, shards: CALL_PARTITIONS.length, fannedOutSince, reason, projection };
  });
  await recordSweep(
    deps,
    result.mode === 'inline'
      ? { scope: TIMER_SCOPE, startedAt, finishedAt: deps.clock(), outcome: outcomeOf(result.summary), summary: result.summary }
      : {
          scope: TIMER_SCOPE,
          startedAt,
          finishedAt: deps.clock(),
          outcome: 'fanned-out',
          fannedOutSince: result.fannedOutSince,
          fanOutHeldUntil,
        },
  );
  return result;
}

/** The timer's pace: its counted calls by a share of what is left of its budget (see `sweepPace.ts`). */
function paceFor(calls: number, deps: FanOutDeps, startedAt: Date): SweepPace {
  const budgetLeft = budgetLeftMs(deps.sweepBudgetMs, startedAt, deps.clock());
  return { calls, doneBy: performance.now() + budgetLeft * PACE_SHARE_OF_BUDGET };
}

/**
 * The pace of a sweep with fan-out off, which has not counted the table yet: a key-only count
 * (about a request per 1,000 calls, the partitions side by side), given at most COUNT_LIMIT_MS of
 * the budget. Without a count the sweep goes as fast as Graph allows, as it did before it paced
 * itself; that is logged, not fatal.
 */
async function paceOf(deps: FanOutDeps, startedAt: Date): Promise<SweepPace | undefined> {
  try {
    return paceFor(await countInTime((signal) => deps.store.countActive(signal)), deps, startedAt);
  } catch (error) {
    deps.log.warn(
      `keepAlive sweep: the calls could not be counted (${error instanceof Error ? error.message : String(error)}); ` +
        'the sweep goes as fast as Graph allows instead of pacing itself to its budget',
    );
    return undefined;
  }
}

/** While a hold is on, why the sweep is handed out whatever the count says. */
function holdReason(projection: SweepProjection, heldUntil: Date | undefined): string | undefined {
  if (projection.hold === 'ranOut') return 'the previous timer sweep ran out of its budget (handed out for the next hour)';
  if (projection.hold === 'held')
    return `a timer sweep ran out of its budget within the hour (handed out until ${heldUntil?.toISOString()})`;
  return undefined;
}

/** Why counted calls too many for one instance are handed out. */
function sizeReason(projection: SweepProjection, threshold: number): string {
  if (projection.capacity > threshold) return 'above SWEEP_FANOUT_THRESHOLD';
  return `more than ${projection.previousFannedOut ? 'half of what ' : ''}${describeProjection(projection)}`;
}

/** How many active calls there are, up to `limit`, or why they could not be counted within COUNT_LIMIT_MS. */
async function countForDecision(deps: FanOutDeps, limit: number): Promise<number | { error: string }> {
  try {
    return await countInTime((signal) => deps.store.countUpTo(limit, signal));
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Without a count, why the sweep is handed out; undefined when the timer sweeps inline instead. It
 * sweeps inline, as fast as Graph allows (as with fan-out off), only where its last run was an
 * inline sweep that came through and set no hold: that sweep needs nothing but the table, and its
 * budget bounds it. Anywhere else it hands out: each shard sweep reads its own partition, with its
 * own budget and the queue's retries, so a store that fails on one partition costs that
 * partition's sweep alone, where an inline sweep that failed there again every run would never
 * reach the partitions after it. Before, a count that failed cost the whole sweep, and one that
 * hung held the timer, and with it every sweep. Only the run just before counts: a record older
 * than that means a run in between left none (its record could not be written, on a store that is
 * failing), so it proves nothing about the inline sweep now. SWEEP_FANOUT_THRESHOLD 0 means always
 * hand out, count or no count.
 */
function uncountedReason(
  projection: SweepProjection,
  records: SweepRecord[] | undefined,
  previous: SweepRecord | undefined,
  now: Date,
  threshold: number,
): string | undefined {
  if (projection.hold) return 'the fan-out is held';
  if (threshold === 0) return 'SWEEP_FANOUT_THRESHOLD is 0';
  if (records === undefined) return 'the sweep records could not be read';
  if (previous === undefined) return 'no earlier timer run is on record';
  if (!finishedWithin(previous, now, LAST_RUN_MAX_AGE_MS)) return 'the last timer run on record is not the one just before';
  if (previous.outcome === 'failed') return 'the last timer run failed';
  if (previous.outcome === 'fanned-out') return 'the last timer run handed out';
  return undefined;
}

// The run just before started a timer period ago and finished within its budget (at most 3
// minutes), so its record is 2-5 minutes old; the one before that, 7 or more. A minute of slack
// for a late tick.
const LAST_RUN_MAX_AGE_MS = (KEEPALIVE_SWEEP_PERIOD_MINUTES + 1) * 60_000;

/** The projection, or the cautious assumed one (logged) if the records hold something it trips on. */
function projectionFrom(records: SweepRecord[] | undefined, now: Date, budgetMs: number, deps: FanOutDeps): SweepProjection {
  const input = { now, budgetMs, ceiling: deps.maxInFlight, floor: INITIAL_IN_FLIGHT };
  try {
    return projectSweep({ ...input, records });
  } catch (error) {
    deps.log.warn(
      `keepAlive sweep: the sweep records could not be used to project the sweep (${error instanceof Error ? error.message : String(error)}); ` +
        'it plans on a slow Graph',
    );
    return projectSweep({ ...input, records: undefined });
  }
}

/** Every scope's latest sweep record, or undefined (logged) when they cannot be read in time. */
async function recentRecords(deps: FanOutDeps): Promise<SweepRecord[] | undefined> {
  try {
    return await untilAborted(
      deps.sweepStatus.all(),
      AbortSignal.timeout(RECORDS_READ_LIMIT_MS),
      () => new Error(`no answer within ${RECORDS_READ_LIMIT_MS} ms`),
    );
  } catch (error) {
    deps.log.warn(
      'keepAlive sweep: the sweep records could not be read, so the sweep plans on a slow Graph (it may hand out ' +
        `a table one instance could sweep) and GET /api/health gives no grace to shards that have not reported yet: ` +
        (error instanceof Error ? error.message : String(error)),
    );
    return undefined;
  }
}

/**
 * When the timer began handing sweeps out, run after run: the health check gives shards that have
 * not reported since then a sweep period's grace, so a fresh fan-out is not called unhealthy before
 * its first shard sweeps had a chance to run. Unknown when the records could not be read: then
 * there is no grace, which can only make the health check stricter. A stretch whose start was not
 * known starts again now.
 */
function fanOutStretchStart(records: SweepRecord[] | undefined, startedAt: Date): Date | undefined {
  if (records === undefined) return undefined;
  const previous = records.find((r) => r.scope === TIMER_SCOPE);
  return previous?.outcome === 'fanned-out' ? (previous.fannedOutSince ?? startedAt) : startedAt;
}

export type ShardSweepResult = { kind: 'swept'; shard: string; summary: SweepSummary };

/** A queue message that is not a shard sweep message: thrown, so the host's retries end in the poison queue. */
export class ShardMessageRefused extends Error {
  override readonly name = 'ShardMessageRefused';
}

/**
 * Sweeps the partition a queue message names. A call already kept alive this period is not due,
 * so a message delivered twice sends no extra keepAlives. A message that is not a shard sweep
 * message is refused with a `ShardMessageRefused`; the host retries it up to `maxDequeueCount` and
 * then moves it to the poison queue, as it does any message that keeps failing.
 */
export async function sweepShardFromMessage(input: unknown, deps: FanOutDeps): Promise<ShardSweepResult> {
  const parsed = parseShardSweepMessage(input);
  if (!parsed.ok) throw new ShardMessageRefused(`not a shard sweep message: ${parsed.reason}`);
  const { shard, sweepStartedAt } = parsed.message;
  const startedAt = new Date(sweepStartedAt);
  const summary = await recordingFailure(deps, shard, startedAt, () => sweepKeepAlive({ ...deps, partition: shard }));
  await recordSweep(deps, { scope: shard, startedAt, finishedAt: deps.clock(), outcome: outcomeOf(summary), summary });
  return { kind: 'swept', shard, summary };
}

/** Runs a sweep; if it throws, its failure is recorded for the health check and the error goes on up. */
async function recordingFailure<T>(deps: FanOutDeps, scope: string, startedAt: Date, sweep: () => Promise<T>): Promise<T> {
  try {
    return await sweep();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await recordSweep(deps, { scope, startedAt, finishedAt: deps.clock(), outcome: 'failed', error: message });
    throw error;
  }
}

/**
 * The keepAlives were sent whether or not their record is kept, so a failure to record is logged
 * and the sweep's own result stands; the health check then shows the previous record, which ages.
 */
async function recordSweep(deps: FanOutDeps, record: SweepRecord): Promise<void> {
  try {
    await deps.sweepStatus.record(record);
  } catch (error) {
    deps.log.error(
      `keepAlive sweep ${record.scope}: outcome "${record.outcome}" not recorded for GET /api/health: ` +
        `${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
