/**
 * How long one sweep (the timer's, or one shard's) may go on sending keepAlives, counted from the
 * start of its invocation. It must end well inside host.json's `functionTimeout` (10 minutes): a
 * sweep the host cuts off records neither its keepAlive results nor its summary, and the host
 * restarts the worker (https://learn.microsoft.com/en-us/azure/azure-functions/functions-host-json#functiontimeout).
 * The 2 minutes left are for the last page's results and the sweep's record to be written.
 *
 * It is not held under the 5-minute timer period: the timer runs on one instance at a time and a
 * run is not started while the previous one is still going
 * (https://learn.microsoft.com/en-us/azure/azure-functions/functions-bindings-timer#scale-out), so
 * a long sweep only delays the next one; stopping it at 5 minutes would leave its unsent calls
 * waiting for that next run just the same.
 */
export const SWEEP_BUDGET_MS = 8 * 60_000;

/** The budget of a sweep that starts now. */
export function sweepDeadline(budgetMs = SWEEP_BUDGET_MS): AbortSignal {
  return AbortSignal.timeout(budgetMs);
}
