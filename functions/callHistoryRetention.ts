import { app, type InvocationContext, type Timer } from '@azure/functions';
import { pruneHistory } from '../shared/history/recordEndedCall.js';
import { appRuntime, type Runtime } from './app/runtime.js';

// Its own timer, two minutes off the keepAlive sweep's marks: a slow history table must never hold
// up a sweep (or, when it fans out, the shard messages the host writes only once the sweep returns).
export const CALL_HISTORY_RETENTION_SCHEDULE = '0 2/5 * * * *';

/** Removes the records of calls that ended more than CALL_HISTORY_DAYS ago, a bounded batch each run. */
export function createCallHistoryRetentionHandler(runtime: () => Runtime) {
  return async (_timer: Timer, context: InvocationContext): Promise<number> => {
    const { history, clock, config } = runtime();
    return pruneHistory(config.callHistoryDays, { history, clock, log: context });
  };
}

export const callHistoryRetention = createCallHistoryRetentionHandler(appRuntime);

app.timer('callHistoryRetention', {
  schedule: CALL_HISTORY_RETENTION_SCHEDULE,
  runOnStartup: false,
  handler: callHistoryRetention,
});
