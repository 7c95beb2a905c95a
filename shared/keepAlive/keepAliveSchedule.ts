/**
 * How often the keepAlive timer runs, and how large KEEPALIVE_INTERVAL_MINUTES may be so that
 * every call still gets a keepAlive inside Graph's 45 minutes: derived here, not guessed.
 */

import { MAX_SWEEP_BUDGET_MS } from './sweepBudget.js';

// "A call that does not receive this request within 45 minutes is considered inactive and will
// subsequently end." https://learn.microsoft.com/en-us/graph/api/call-keepalive
export const GRAPH_KEEPALIVE_WINDOW_MINUTES = 45;

/** The keepAlive timer fires every this many minutes, on the clock's marks (:00, :05, ...). */
export const KEEPALIVE_SWEEP_PERIOD_MINUTES = 5;

/** One keepAlive request's time budget, waits for Retry-After included. */
export const KEEPALIVE_REQUEST_BUDGET_MS = 60_000;

// What the sum below does not model: the timer firing late (host start, instance change), the
// instance's clock against Graph's, a large sweep reaching a call a while after it started.
const SAFETY_MARGIN_MINUTES = 3;

const REQUEST_BUDGET_MINUTES = KEEPALIVE_REQUEST_BUDGET_MS / 60_000;
const SWEEP_BUDGET_MINUTES = MAX_SWEEP_BUDGET_MS / 60_000;

/**
 * The longest Graph can go without a keepAlive for a call, at a given interval:
 * - one request budget: `lastKeepAliveAt` is stamped when Graph's reply arrives, which can be up
 *   to a budget after Graph received the request, so the app's clock for the call starts late;
 * - the interval: the call is due that long after the stamp;
 * - one timer period: the stamp falls just after a sweep's start, so the sweep one interval on
 *   finds the call just short of due and it waits for the next sweep;
 * - one timer period: that keepAlive fails (5xx, timeout), or its sweep runs out of time before
 *   reaching it, and only the next sweep retries it;
 * - one sweep budget: the retry can reach Graph up to the sweep's whole budget after that sweep
 *   started (a large or throttled sweep reaches its last calls late).
 */
export function worstKeepAliveGapMinutes(intervalMinutes: number): number {
  return intervalMinutes + 2 * KEEPALIVE_SWEEP_PERIOD_MINUTES + REQUEST_BUDGET_MINUTES + SWEEP_BUDGET_MINUTES;
}

/** 28 today: 45 - 3 (margin) - 5 - 5 (timer periods) - 1 (request budget) - 3 (sweep budget). */
export const MAX_KEEPALIVE_INTERVAL_MINUTES = Math.floor(
  GRAPH_KEEPALIVE_WINDOW_MINUTES - SAFETY_MARGIN_MINUTES - worstKeepAliveGapMinutes(0),
);

/** Why a larger interval is refused, for the configuration error. */
export const KEEPALIVE_INTERVAL_BOUND_REASON =
  `Graph ends a call that gets no keepAlive for ${GRAPH_KEEPALIVE_WINDOW_MINUTES} minutes, and a call can wait ` +
  `the interval + ${KEEPALIVE_SWEEP_PERIOD_MINUTES} (just short of due, it waits for the next ${KEEPALIVE_SWEEP_PERIOD_MINUTES}-minute sweep) ` +
  `+ ${KEEPALIVE_SWEEP_PERIOD_MINUTES} (one failed keepAlive, retried a sweep later) ` +
  `+ ${REQUEST_BUDGET_MINUTES} (a reply's delay) + ${SWEEP_BUDGET_MINUTES} (how far into its sweep the retry may go) ` +
  `+ ${SAFETY_MARGIN_MINUTES} (margin) minutes`;
