import { app, type InvocationContext, type Timer } from '@azure/functions';
import { fanOutDepsOf, runScheduledSweep, type ScheduledSweepResult } from '../shared/keepAlive/sweepFanOut.js';
import { logSweepSummary } from '../shared/keepAlive/sweepKeepAlive.js';
import { appRuntime, type Runtime } from '../shared/runtime.js';

// Every 5 minutes: a call is due every KEEPALIVE_INTERVAL_MINUTES (15), so it is kept alive
// within 20 minutes at worst, well inside Graph's 45.
export const KEEPALIVE_SWEEP_SCHEDULE = '0 */5 * * * *';

export function createKeepAliveSweepHandler(runtime: () => Runtime) {
  return async (_timer: Timer, context: InvocationContext): Promise<ScheduledSweepResult> => {
    const result = await runScheduledSweep(fanOutDepsOf(runtime(), context));
    if (result.mode === 'fanned-out') {
      context.info(
        `keepAlive sweep: ${result.activeAtLeast}+ active calls, above SWEEP_FANOUT_THRESHOLD; handed out as ${result.shards} shard messages`,
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
  handler: keepAliveSweep,
});
