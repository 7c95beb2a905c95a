import { CALL_PARTITIONS } from '../calls/partitionKey.js';
import type { Logger } from '../logger.js';
import type { Runtime } from '../runtime.js';
import type { ShardQueue } from './shardQueue.js';
import { parseShardSweepMessage } from './shardSweepMessage.js';
import { sweepKeepAlive, type SweepDeps, type SweepSummary } from './sweepKeepAlive.js';

export interface FanOutDeps extends SweepDeps {
  queue: ShardQueue;
  /** Above this many active calls, the sweep is handed out shard by shard. */
  fanOutThreshold: number;
}

export function fanOutDepsOf({ store, graph, clock, shardQueue, config }: Runtime, log: Logger): FanOutDeps {
  return {
    store,
    graph,
    clock,
    log,
    queue: shardQueue,
    intervalMinutes: config.keepAlive.intervalMinutes,
    maxInFlight: config.keepAlive.maxInFlight,
    leaveWhenAloneMinutes: config.meetings.leaveWhenAloneMinutes,
    fanOutThreshold: config.keepAlive.fanOutThreshold,
  };
}

export type ScheduledSweepResult =
  | { mode: 'inline'; summary: SweepSummary }
  | { mode: 'fanned-out'; activeAtLeast: number; shards: number };

/**
 * The timer's sweep. A timer runs on one instance at a time, so a table too large for one
 * instance is handed out as one queue message per partition instead: the queue trigger's
 * scale-out spreads those over instances. Counting stops just past the threshold, so deciding
 * costs at most threshold / 1000 + 1 key-only reads.
 */
export async function runScheduledSweep(deps: FanOutDeps): Promise<ScheduledSweepResult> {
  const counted = await deps.store.countUpTo(deps.fanOutThreshold + 1);
  if (counted <= deps.fanOutThreshold) {
    return { mode: 'inline', summary: await sweepKeepAlive(deps) };
  }
  const sweepStartedAt = deps.clock().toISOString();
  await deps.queue.enqueue(CALL_PARTITIONS.map((shard) => ({ shard, sweepStartedAt })));
  return { mode: 'fanned-out', activeAtLeast: counted, shards: CALL_PARTITIONS.length };
}

export type ShardSweepResult =
  | { kind: 'swept'; shard: string; summary: SweepSummary }
  | { kind: 'poisoned'; reason: string };

/**
 * Sweeps the partition a queue message names. A call already kept alive this period is not due,
 * so a message delivered twice sends no extra keepAlives. A message that can never be processed
 * goes straight to the poison queue rather than through the host's retries.
 */
export async function sweepShardFromMessage(input: unknown, deps: FanOutDeps): Promise<ShardSweepResult> {
  const parsed = parseShardSweepMessage(input);
  if (!parsed.ok) {
    await deps.queue.sendToPoison(typeof input === 'string' ? input : JSON.stringify(input));
    return { kind: 'poisoned', reason: parsed.reason };
  }
  const { shard } = parsed.message;
  return { kind: 'swept', shard, summary: await sweepKeepAlive({ ...deps, partition: shard }) };
}
