/**
 * When a failed Graph request is sent again. Pure: the caller measures time and sleeps.
 *
 * `POST .../answer`, `.../reject` and `POST /communications/calls` are not idempotent: a 503 or 504
 * may come from a gateway after Graph did the work, and a second POST is then refused (an answer
 * twice is a 409), which would read as "not done" while the call is live. Only a 429 says for
 * certain that Graph did nothing, so those three are retried on 429 alone. keepAlive, GET and DELETE
 * can be repeated safely and are retried on 429, 503 and 504, as Graph's throttling guidance asks:
 * https://learn.microsoft.com/en-us/graph/throttling
 * They are also sent again at once when a kept-alive connection closed before any answer
 * (`StaleConnection`, see nodeHttpRequestHandler.ts): another connection carries the retry.
 */
export type RetryClass = 'notIdempotent' | 'idempotent';

const RETRY_STATUSES: Record<RetryClass, readonly number[]> = {
  notIdempotent: [429],
  idempotent: [429, 503, 504],
};

/** The code (the error's name) of a request that met a kept-alive connection closing before any answer. */
export const STALE_CONNECTION = 'StaleConnection';

/** Retries after the first attempt. */
export const MAX_RETRIES = 3;
// Without Retry-After: 1 s, 2 s, 4 s.
const BACKOFF_BASE_MS = 1_000;
// A request needs some time of its own; a retry that would start with less than this left is pointless.
export const MIN_REQUEST_TIME_MS = 250;

export type RetryDecision = { retry: true; waitMs: number } | { retry: false; why: 'notRetryable' | 'attemptsUsed' | 'pastDeadline' };

/**
 * `retryAfter` is the header as Graph sent it (seconds, or an HTTP date); `timeLeftMs` is what is
 * left before the request's deadline. A wait that would run past the deadline is not waited at all:
 * the request counts as failed at once, and whoever owns it (the next sweep, Graph's redelivery)
 * tries again later.
 */
export function retryDecision(
  retryClass: RetryClass,
  { status, code }: { status: number | undefined; code?: string | undefined },
  retryAfter: string | null | undefined,
  retriesDone: number,
  timeLeftMs: number,
  nowMs: number = Date.now(),
): RetryDecision {
  const staleConnection = status === undefined && code === STALE_CONNECTION && retryClass === 'idempotent';
  if (!staleConnection && (status === undefined || !RETRY_STATUSES[retryClass].includes(status)))
    return { retry: false, why: 'notRetryable' };
  if (retriesDone >= MAX_RETRIES) return { retry: false, why: 'attemptsUsed' };
  if (staleConnection) return timeLeftMs < MIN_REQUEST_TIME_MS ? { retry: false, why: 'pastDeadline' } : { retry: true, waitMs: 0 };
  const waitMs = retryAfterMs(retryAfter, nowMs) ?? BACKOFF_BASE_MS * 2 ** retriesDone;
  if (waitMs + MIN_REQUEST_TIME_MS > timeLeftMs) return { retry: false, why: 'pastDeadline' };
  return { retry: true, waitMs };
}

/** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110, 10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
