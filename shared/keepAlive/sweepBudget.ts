/**
 * How long one sweep (the timer's, or one shard's) may go on sending keepAlives, counted from the
 * start of its invocation: KEEPALIVE_SWEEP_BUDGET_SECONDS, by default a third of the keepAlive
 * interval. The timer sweeps inline only as many calls as one instance can keep alive in it (see
 * `sweepProjection.ts`) and hands larger tables out shard by shard. Its upper bound:
 * - a sweep ends, with its results and record written, well before the next 5-minute tick: the
 *   timer does not start a run while the previous one is still going
 *   (https://learn.microsoft.com/en-us/azure/azure-functions/functions-bindings-timer#scale-out),
 *   so a sweep that ran on would push the next one back and stretch every call's wait;
 * - a due keepAlive reaches Graph at most this long after its sweep started, which the bound on
 *   KEEPALIVE_INTERVAL_MINUTES counts (see `keepAliveSchedule.ts`) at this upper bound.
 * It is far inside host.json's `functionTimeout` (10 minutes): a sweep the host cuts off records
 * neither its results nor its summary
 * (https://learn.microsoft.com/en-us/azure/azure-functions/functions-host-json#functiontimeout).
 * Calls a sweep could not reach are the next sweep's, 5 minutes on.
 */
export const MAX_SWEEP_BUDGET_SECONDS = 3 * 60;
// Below this a large sweep would spend its budget on ramping up and reading its first pages.
export const MIN_SWEEP_BUDGET_SECONDS = 30;
export const MAX_SWEEP_BUDGET_MS = MAX_SWEEP_BUDGET_SECONDS * 1000;

/** Why a longer budget is refused, for the configuration error. */
export const SWEEP_BUDGET_BOUND_REASON =
  'a sweep must be done, its results written, well before the next 5-minute timer tick, and the bound on KEEPALIVE_INTERVAL_MINUTES counts on it';

/** A third of the keepAlive interval, within the bounds: 180 s at the default 15 minutes. */
export function defaultSweepBudgetSeconds(intervalMinutes: number): number {
  return Math.min(MAX_SWEEP_BUDGET_SECONDS, Math.max(MIN_SWEEP_BUDGET_SECONDS, Math.round((intervalMinutes * 60) / 3)));
}

/**
 * What is left of a budget of `budgetMs` that began at `startedAt`: never more than the whole
 * budget, whatever the wall clock did since (a clock set back would otherwise lengthen it), nor
 * less than nothing.
 */
export function budgetLeftMs(budgetMs: number, startedAt: Date, now: Date): number {
  return Math.max(0, Math.min(budgetMs, budgetMs - (now.getTime() - startedAt.getTime())));
}

/** The budget of a sweep that starts now. */
export function sweepDeadline(budgetMs: number): AbortSignal {
  return AbortSignal.timeout(budgetMs);
}
