import { app, type InvocationContext } from '@azure/functions';
import { SHARD_MAX_DEQUEUE_COUNT, SHARD_POISON_QUEUE_NAME, SHARD_QUEUE_NAME } from '../shared/keepAlive/shardQueue.js';
import { sweepShardFromMessage, type ShardSweepResult } from '../shared/keepAlive/sweepFanOut.js';
import { logSweepSummary } from '../shared/keepAlive/sweepKeepAlive.js';
import { appRuntime, fanOutDepsOf, type Runtime } from './app/runtime.js';

export function createKeepAliveShardSweepHandler(runtime: () => Runtime) {
  return async (message: unknown, context: InvocationContext): Promise<ShardSweepResult> => {
    let result: ShardSweepResult;
    try {
      result = await sweepShardFromMessage(message, fanOutDepsOf(runtime(), context));
    } catch (error) {
      const attempt = Number(context.triggerMetadata?.['dequeueCount'] ?? 1);
      const next =
        attempt >= SHARD_MAX_DEQUEUE_COUNT
          ? `attempt ${attempt} of ${SHARD_MAX_DEQUEUE_COUNT}: the host moves it to ${SHARD_POISON_QUEUE_NAME}`
          : `attempt ${attempt} of ${SHARD_MAX_DEQUEUE_COUNT}: it will be retried`;
      context.error(`keepAlive shard sweep failed (${next}): ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    logSweepSummary(context, result.summary, result.shard);
    return result;
  };
}

export const keepAliveShardSweep = createKeepAliveShardSweepHandler(appRuntime);

app.storageQueue('keepAliveShardSweep', {
  queueName: SHARD_QUEUE_NAME,
  connection: 'AzureWebJobsStorage',
  handler: keepAliveShardSweep,
});
