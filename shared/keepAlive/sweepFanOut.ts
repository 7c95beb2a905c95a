import { CALL_PARTITIONS } from '../calls/partitionKey.js';
import type { ShardQueue } from './shardQueue.js';
import { parseShardSweepMessage } from './shardSweepMessage.js';
import { sweepKeepAlive, type SweepDeps, type SweepSummary } from './sweepKeepAlive.js';
import { outcomeOf, TIMER_SCOPE, type SweepRecord, type SweepStatusStore } from './sweepStatus.js';

export interface FanOutDeps extends SweepDeps {
  queue: ShardQueue;
  /** Above this many active calls, the sweep is handed out shard by shard. */
  fanOutThreshold: number;
  /** Where each sweep's outcome is kept for the health check. */
  sweepStatus: SweepStatusStore;
}

export type ScheduledSweepResult =
  | { mode: 'inline'; summary: SweepSummary }
  | { mode: 'fanned-out'; activeAtLeast: number; shards: number; fannedOutSince: Date | undefined };

/**
 * The timer's sweep. A timer runs on one instance at a time, so a table too large for one
 * instance is handed out as one queue message per partition instead: the queue trigger's
 * scale-out spreads those over instances. Counting stops just past the threshold, so deciding
 * costs at most threshold / 1000 + 1 key-only reads.
 */
export async function runScheduledSweep(deps: FanOutDeps): Promise<ScheduledSweepResult> {
  const startedAt = deps.clock();
  const result = await recordingFailure(deps, TIMER_SCOPE, startedAt, async (): Promise<ScheduledSweepResult> => {
    const counted = await deps.store.countUpTo(deps.fanOutThreshold + 1);
    if (counted <= deps.fanOutThreshold) {
      return { mode: 'inline', summary: await sweepKeepAlive(deps) };
    }
    const sweepStartedAt = startedAt.toISOString();
    await deps.queue.enqueue(CALL_PARTITIONS.map((shard) => ({ shard, sweepStartedAt })));
    const fannedOutSince = await fanOutStretchStart(deps, startedAt);
    return { mode: 'fanned-out', activeAtLeast: counted, shards: CALL_PARTITIONS.length, fannedOutSince };
  });
  await recordSweep(
    deps,
    result.mode === 'inline'
      ? { scope: TIMER_SCOPE, startedAt, finishedAt: deps.clock(), outcome: outcomeOf(result.summary), summary: result.summary }
      : { scope: TIMER_SCOPE, startedAt, finishedAt: deps.clock(), outcome: 'fanned-out', fannedOutSince: result.fannedOutSince },
  );
  return result;
}

/**
 * When the timer began handing sweeps out, run after run: the health check gives shards that have
 * not reported since then a sweep period's grace, so a fresh fan-out is not called unhealthy before
 * its first shard sweeps had a chance to run. Unknown when the previous record cannot be read:
 * then there is no grace, which can only make the health check stricter.
 */
async function fanOutStretchStart(deps: FanOutDeps, startedAt: Date): Promise<Date | undefined> {
  try {
    const previous = (await deps.sweepStatus.all()).find((r) => r.scope === TIMER_SCOPE);
    return previous?.outcome === 'fanned-out' ? previous.fannedOutSince : startedAt;
  } catch (error) {
    deps.log.warn(
      `keepAlive sweep: the previous sweep record could not be read, so GET /api/health gives no grace to shards ` +
        `that have not reported yet: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
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
