/**
 * How many keepAlives a sweep needs in flight to reach its calls in time: the demand half of its
 * sizing (`InFlightController` is the supply half: what Graph's answers allow). Graph's throttling
 * limits are per app (https://learn.microsoft.com/en-us/graph/throttling-limits), so a sweep that
 * sends as fast as Graph lets it, when a tenth of that would do, spends the same allowance the
 * app's answers to incoming calls need within their 15 s (5 s) deadline. And a sweep that keeps
 * more in flight than Graph's latency calls for only queues them in its own CPU.
 *
 * Little's law again: keepAlives in flight = rate × round trip, and the rate the sweep needs is its
 * calls left over its time left. The target is a third of the sweep's budget (the rest is margin for
 * a Graph that slows down on the way, for retries, which hold a keepAlive's slot longer than Graph's
 * round trip, and for rows that came after the count), with a quarter more in flight than the
 * arithmetic says.
 * Recomputed as the answers come in: a slower Graph or less time left asks for more at once.
 */
export interface SweepPace {
  /** Calls in the table when the sweep began (counted): what it expects to read, of which some are due. */
  calls: number;
  /** When the sweep aims to be done: performance.now() milliseconds. */
  doneBy: number;
}

export interface SweepProgress {
  /** Rows read so far. */
  read: number;
  /** Due calls read but not yet sent a keepAlive. */
  waiting: number;
  /** performance.now() milliseconds. */
  now: number;
  /** Graph's recent round trip, in ms; unknown until its first round trips are behind. */
  roundTripMs: number | undefined;
}

/** The share of a sweep's budget it aims to finish in. */
export const PACE_SHARE_OF_BUDGET = 1 / 3;
const HEADROOM = 1.25;

/**
 * The most keepAlives in flight the sweep needs now. Undefined when it should go as fast as Graph
 * allows: once its time is up with calls left, or once it has read more rows than were counted
 * (the count was not the table, so it says nothing of what is left). 0 (the sweep holds at its
 * starting count, the fixed 16 of before it sized itself) until Graph's round trip is known, and
 * once every counted call is read and sent.
 */
export function inFlightNeeded(pace: SweepPace, progress: SweepProgress): number | undefined {
  if (progress.read > pace.calls) return undefined;
  const callsLeft = pace.calls - progress.read + progress.waiting;
  if (callsLeft === 0) return 0;
  const msLeft = pace.doneBy - progress.now;
  if (msLeft <= 0) return undefined;
  if (progress.roundTripMs === undefined) return 0;
  return Math.ceil(((callsLeft * progress.roundTripMs) / msLeft) * HEADROOM);
}
