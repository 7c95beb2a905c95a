/**
 * A point in time a piece of work must be done by, with a signal that fires then. Deadlines count
 * from when the work arrived (e.g. a notification's arrival), not from when a request is sent, so
 * every wait on the way (storage, a slot, a Retry-After) uses up the same budget.
 */
export interface Deadline {
  /** Epoch ms (`Date.now()` scale). */
  readonly at: number;
  readonly signal: AbortSignal;
}

export function deadlineIn(ms: number, now: number = Date.now()): Deadline {
  return { at: now + ms, signal: AbortSignal.timeout(Math.max(0, now + ms - Date.now())) };
}

/** The earlier of a deadline and an outside signal (e.g. a sweep's own budget), which may fire first. */
export function deadlineWithin(ms: number, outer: AbortSignal | undefined): Deadline {
  const own = deadlineIn(ms);
  return outer ? { at: own.at, signal: AbortSignal.any([own.signal, outer]) } : own;
}

export function timeLeftMs(deadline: Deadline, now: number = Date.now()): number {
  return deadline.signal.aborted ? 0 : Math.max(0, deadline.at - now);
}
