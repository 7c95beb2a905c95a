import { describe, expect, it } from 'vitest';
import { retryAfterMs, retryDecision } from '../../shared/graph/retryPolicy.js';

const NOW = Date.parse('2026-11-24T10:00:00Z');

describe('retryDecision', () => {
  it.each([
    ['answer/reject/create on 429', 'notIdempotent', 429, '1', 0, 10_000, { retry: true, waitMs: 1000 }],
    ['answer/reject/create on 503: Graph may have done it', 'notIdempotent', 503, '1', 0, 10_000, { retry: false, why: 'notRetryable' }],
    ['answer/reject/create on 504', 'notIdempotent', 504, undefined, 0, 10_000, { retry: false, why: 'notRetryable' }],
    ['keepAlive on 503', 'idempotent', 503, '2', 0, 10_000, { retry: true, waitMs: 2000 }],
    ['keepAlive on 504 without Retry-After: back-off', 'idempotent', 504, null, 2, 10_000, { retry: true, waitMs: 4000 }],
    ['keepAlive on 500', 'idempotent', 500, null, 0, 10_000, { retry: false, why: 'notRetryable' }],
    ['no response at all', 'idempotent', undefined, null, 0, 10_000, { retry: false, why: 'notRetryable' }],
    ['after three retries', 'idempotent', 429, '0', 3, 10_000, { retry: false, why: 'attemptsUsed' }],
    ['a Retry-After past the deadline', 'idempotent', 429, '30', 0, 10_000, { retry: false, why: 'pastDeadline' }],
    ['a Retry-After that leaves no time for the request', 'idempotent', 429, '10', 0, 10_000, { retry: false, why: 'pastDeadline' }],
    ['an HTTP-date Retry-After', 'idempotent', 429, 'Tue, 24 Nov 2026 10:00:03 GMT', 0, 10_000, { retry: true, waitMs: 3000 }],
  ] as const)('%s', (_name, retryClass, status, retryAfter, done, left, expected) => {
    expect(retryDecision(retryClass, { status }, retryAfter, done, left, NOW)).toEqual(expected);
  });

  it.each([
    ['keepAlive/GET/DELETE: at once, on a new connection', 'idempotent', 0, 10_000, { retry: true, waitMs: 0 }],
    ['answer/reject/create: whether Graph did it is unknown', 'notIdempotent', 0, 10_000, { retry: false, why: 'notRetryable' }],
    ['after three retries', 'idempotent', 3, 10_000, { retry: false, why: 'attemptsUsed' }],
    ['with no time left for the request', 'idempotent', 0, 100, { retry: false, why: 'pastDeadline' }],
  ] as const)('a kept-alive connection closed before any answer: %s', (_name, retryClass, done, left, expected) => {
    expect(retryDecision(retryClass, { status: undefined, code: 'StaleConnection' }, null, done, left, NOW)).toEqual(expected);
  });
});

describe('retryAfterMs', () => {
  it.each([
    ['', undefined],
    ['5', 5000],
    ['soon', undefined],
    ['Tue, 24 Nov 2026 09:59:00 GMT', 0],
  ])('%j', (header, expected) => {
    expect(retryAfterMs(header, NOW)).toBe(expected);
  });
});
