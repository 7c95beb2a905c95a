import { app, type InvocationContext, type Timer } from '@azure/functions';
import { formatSweepSummary, sweepKeepAlive, type SweepSummary } from '../shared/keepAlive/sweepKeepAlive.js';
import { appRuntime, type Runtime } from '../shared/runtime.js';

// Every 5 minutes: a call is due every KEEPALIVE_INTERVAL_MINUTES (15), so it is kept alive
// within 20 minutes at worst, well inside Graph's 45.
export const KEEPALIVE_SWEEP_SCHEDULE = '0 */5 * * * *';

export function createKeepAliveSweepHandler(runtime: () => Runtime) {
  return async (_timer: Timer, context: InvocationContext): Promise<SweepSummary> => {
    const { store, graph, clock, config } = runtime();
    const summary = await sweepKeepAlive({
      store,
      graph,
      clock,
      log: context,
      intervalMinutes: config.keepAlive.intervalMinutes,
      maxInFlight: config.keepAlive.maxInFlight,
      leaveWhenAloneMinutes: config.meetings.leaveWhenAloneMinutes,
    });
    const line = formatSweepSummary(summary);
    if (summary.failed > 0) context.warn(line);
    else context.info(line);
    return summary;
  };
}

export const keepAliveSweep = createKeepAliveSweepHandler(appRuntime);

app.timer('keepAliveSweep', {
  schedule: KEEPALIVE_SWEEP_SCHEDULE,
  runOnStartup: false,
  handler: keepAliveSweep,
});
