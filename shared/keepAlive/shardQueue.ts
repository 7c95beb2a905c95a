import type { ShardSweepMessage } from './shardSweepMessage.js';

export const SHARD_QUEUE_NAME = 'keepalive-shards';
// The Functions host moves a message here after its last failed attempt (maxDequeueCount).
export const SHARD_POISON_QUEUE_NAME = `${SHARD_QUEUE_NAME}-poison`;
/** Must match `extensions.queues.maxDequeueCount` in host.json. */
export const SHARD_MAX_DEQUEUE_COUNT = 5;

/**
 * Where a fanned-out sweep's shard messages go: the timer function's Storage queue output binding
 * (functions/keepAliveSweep.ts), which the host writes once the function returns.
 */
export interface ShardQueue {
  enqueue(messages: readonly ShardSweepMessage[]): Promise<void>;
}
