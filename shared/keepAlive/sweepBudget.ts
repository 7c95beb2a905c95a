/**
 * How long one sweep (the timer's, or one shard's) may go on sending keepAlives, counted from the
 * start of its invocation. Two bounds decide it:
 * - it ends, with its results and record written, well before the next 5-minute tick: the timer does
 *   not start a run while the previous one is still going
 *   (https://learn.microsoft.com/en-us/azure/azure-functions/functions-bindings-timer#scale-out), so
 *   a sweep that ran on would push the next one back and stretch every call's wait;
 * - a due keepAlive reaches Graph at most this long after its sweep started, which the bound on
 *   KEEPALIVE_INTERVAL_MINUTES counts (see `keepAliveSchedule.ts`).
 * It is far inside host.json's `functionTimeout` (10 minutes): a sweep the host cuts off records
 * neither its results nor its summary
 * (https://learn.microsoft.com/en-us/azure/azure-functions/functions-host-json#functiontimeout).
 * Calls a sweep could not reach are the next sweep's, 5 minutes on.
 */
export const SWEEP_BUDGET_MS = 3 * 60_000;

/** The budget of a sweep that starts now. */
export function sweepDeadline(budgetMs = SWEEP_BUDGET_MS): AbortSignal {
  return AbortSignal.timeout(budgetMs);
}
