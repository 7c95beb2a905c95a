import { CALL_PARTITIONS } from '../calls/partitionKey.js';
import type { ShardQueue } from './shardQueue.js';
import { parseShardSweepMessage } from './shardSweepMessage.js';
import { INITIAL_IN_FLIGHT, sweepKeepAlive, type SweepDeps, type SweepSummary } from './sweepKeepAlive.js';
import { describeProjection, projectSweep, type SweepProjection } from './sweepProjection.js';
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
      activeAtLeast: number;
      shards: number;
      fannedOutSince: Date | undefined;
      /** Why one instance was not enough, for the log. */
      reason: string;
      projection: SweepProjection;
    };

// The sweep records are one small partition, read in one request; a store that cannot answer in
// this long gives no figures, and the sweep goes on with the assumed (cautious) projection.
const RECORDS_READ_LIMIT_MS = 5_000;

/**
 * The timer's sweep. A timer runs on one instance at a time, so a table too large for one
 * instance is handed out as one queue message per partition instead: the queue trigger's
 * scale-out spreads those over instances. "Too large" is projected from what recent sweeps saw of
 * Graph (its latency, the in-flight count they reached) and the sweep budget, and is never more
 * than SWEEP_FANOUT_THRESHOLD; a timer sweep that ran out of budget fans the next one out.
 * Counting stops just past that size, so deciding costs at most size / 1000 + 1 key-only reads.
 */
export async function runScheduledSweep(deps: FanOutDeps): Promise<ScheduledSweepResult> {
  const startedAt = deps.clock();
  let records: SweepRecord[] | undefined;
  const result = await recordingFailure(deps, TIMER_SCOPE, startedAt, async (): Promise<ScheduledSweepResult> => {
    if (deps.fanOutThreshold === undefined) return { mode: 'inline', summary: await sweepKeepAlive(deps), projection: undefined };
    records = await recentRecords(deps);
    const projection = projectSweep({
      records,
      now: startedAt,
      budgetMs: deps.sweepBudgetMs,
      ceiling: deps.maxInFlight,
      floor: INITIAL_IN_FLIGHT,
    });
    const inlineAtMost = projection.previousRanOut ? 0 : Math.min(deps.fanOutThreshold, projection.capacity);
    const counted = await deps.store.countUpTo(inlineAtMost + 1);
    if (counted <= inlineAtMost) {
      return { mode: 'inline', summary: await sweepKeepAlive(deps), projection };
    }
    const reason = projection.previousRanOut
      ? 'the previous timer sweep ran out of its budget'
      : projection.capacity > deps.fanOutThreshold
        ? 'above SWEEP_FANOUT_THRESHOLD'
        : `more than ${describeProjection(projection)}`;
    const sweepStartedAt = startedAt.toISOString();
    await deps.queue.enqueue(CALL_PARTITIONS.map((shard) => ({ shard, sweepStartedAt })));
    const fannedOutSince = fanOutStretchStart(records, startedAt);
    return { mode: 'fanned-out', activeAtLeast: counted, shards: CALL_PARTITIONS.length, fannedOutSince, reason, projection };
  });
  await recordSweep(
    deps,
    result.mode === 'inline'
      ? { scope: TIMER_SCOPE, startedAt, finishedAt: deps.clock(), outcome: outcomeOf(result.summary), summary: result.summary }
      : { scope: TIMER_SCOPE, startedAt, finishedAt: deps.clock(), outcome: 'fanned-out', fannedOutSince: result.fannedOutSince },
  );
  return result;
}

/** Every scope's latest sweep record, or undefined (logged) when they cannot be read in time. */
async function recentRecords(deps: FanOutDeps): Promise<SweepRecord[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${RECORDS_READ_LIMIT_MS} ms`)), RECORDS_READ_LIMIT_MS);
  });
  try {
    return await Promise.race([deps.sweepStatus.all(), tooSlow]);
  } catch (error) {
    deps.log.warn(
      'keepAlive sweep: the sweep records could not be read, so the sweep plans on a slow Graph (it may hand out ' +
        `a table one instance could sweep) and GET /api/health gives no grace to shards that have not reported yet: ` +
        (error instanceof Error ? error.message : String(error)),
    );
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * When the timer began handing sweeps out, run after run: the health check gives shards that have
 * not reported since then a sweep period's grace, so a fresh fan-out is not called unhealthy before
 * its first shard sweeps had a chance to run. Unknown when the records could not be read: then
 * there is no grace, which can only make the health check stricter.
 */
function fanOutStretchStart(records: SweepRecord[] | undefined, startedAt: Date): Date | undefined {
  if (records === undefined) return undefined;
  const previous = records.find((r) => r.scope === TIMER_SCOPE);
  return previous?.outcome === 'fanned-out' ? previous.fannedOutSince : startedAt;
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
