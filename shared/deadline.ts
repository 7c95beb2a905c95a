import { setMaxListeners } from 'node:events';

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

/** A deadline that holds on to an outside signal until `release` (see `deadlineWithin`). */
export interface ScopedDeadline extends Deadline {
  /** The work is done: drops the timer and the listener on the outside signal. */
  release(): void;
}

/**
 * The earlier of a deadline and an outside signal (e.g. a sweep's own budget), which may fire
 * first; call `release` when the work is done. Not `AbortSignal.any`: each signal it composes
 * stays registered on the long-lived outside signal until it is garbage-collected, and Node 22
 * then walks all of them for each one collected, so a sweep of 20,000 keepAlives spent a quarter
 * of its CPU in that clean-up (a profile of `npm run bench -- --profile`, docs/performance.md).
 */
export function deadlineWithin(ms: number, outer: AbortSignal | undefined): ScopedDeadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  // Like AbortSignal.timeout's timer, it does not hold the process open.
  timer.unref();
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else if (outer) {
    // One listener per request in flight on a sweep's signal (up to KEEPALIVE_MAX_IN_FLIGHT): not a leak.
    setMaxListeners(0, outer);
    outer.addEventListener('abort', onOuterAbort, { once: true });
  }
  return {
    at: Date.now() + ms,
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}

export function timeLeftMs(deadline: Deadline, now: number = Date.now()): number {
  return deadline.signal.aborted ? 0 : Math.max(0, deadline.at - now);
}

/** What `untilAborted` needs of a signal: the DOM's `AbortSignal` and the Azure SDK's `AbortSignalLike` both have it. */
export interface AbortableSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * Settles as `work` does, or rejects once `signal` aborts: with `why()`, else the signal's reason
 * when it is an Error. The work itself goes on (others may wait on it); if it fails after the
 * abort, nobody is left waiting and its rejection is handled here.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortableSignal | undefined, why?: () => Error): Promise<T> {
  if (!signal) return work;
  const abortError = (): Error => {
    if (why) return why();
    const reason: unknown = (signal as { reason?: unknown }).reason;
    return reason instanceof Error ? reason : new Error('aborted');
  };
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
