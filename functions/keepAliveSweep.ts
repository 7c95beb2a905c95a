import { app, output, type InvocationContext, type Timer } from '@azure/functions';
import { KEEPALIVE_SWEEP_PERIOD_MINUTES } from '../shared/keepAlive/keepAliveSchedule.js';
import { SHARD_QUEUE_NAME, type ShardQueue } from '../shared/keepAlive/shardQueue.js';
import { runScheduledSweep, type ScheduledSweepResult } from '../shared/keepAlive/sweepFanOut.js';
import { logSweepSummary } from '../shared/keepAlive/sweepKeepAlive.js';
import { appRuntime, fanOutDepsOf, type Runtime } from './app/runtime.js';

// Every 5 minutes, on the clock's marks. The same period bounds KEEPALIVE_INTERVAL_MINUTES in the
// configuration (see keepAliveSchedule.ts), so the two cannot drift apart.
export const KEEPALIVE_SWEEP_SCHEDULE = `0 */${KEEPALIVE_SWEEP_PERIOD_MINUTES} * * * *`;

/**
 * A fanned-out sweep's shard messages, written by the host once the function returns (an array is
 * one message per element); the connection and encoding are the host's (host.json).
 */
export const shardQueueOutput = output.storageQueue({ queueName: SHARD_QUEUE_NAME, connection: 'AzureWebJobsStorage' });

/** The timer's shard queue: its output binding. */
function shardQueueOf(context: InvocationContext): ShardQueue {
  return {
    enqueue: (messages) => {
      context.extraOutputs.set(shardQueueOutput, [...messages]);
      return Promise.resolve();
    },
  };
}

export function createKeepAliveSweepHandler(runtime: () => Runtime) {
  return async (_timer: Timer, context: InvocationContext): Promise<ScheduledSweepResult> => {
    const result = await runScheduledSweep(fanOutDepsOf(runtime(), context, shardQueueOf(context)));
    if (result.mode === 'fanned-out') {
      context.info(
        `keepAlive sweep: ${result.activeAtLeast === undefined ? 'active calls not counted' : `${result.activeAtLeast}+ active calls`}, ` +
          `${result.reason}; handed out as ${result.shards} shard messages`,
      );
    } else {
      logSweepSummary(context, result.summary);
    }
    return result;
  };
}

export const keepAliveSweep = createKeepAliveSweepHandler(appRuntime);

app.timer('keepAliveSweep', {
  schedule: KEEPALIVE_SWEEP_SCHEDULE,
  runOnStartup: false,
  extraOutputs: [shardQueueOutput],
  handler: keepAliveSweep,
});
