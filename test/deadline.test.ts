import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { deadlineWithin } from '../shared/deadline.js';

describe('deadlineWithin', () => {
  it('ends when the outside signal ends, with its reason', () => {
    const outer = new AbortController();
    const deadline = deadlineWithin(60_000, outer.signal);
    expect(deadline.signal.aborted).toBe(false);
    outer.abort(new Error('sweep budget spent'));
    expect(deadline.signal.reason).toEqual(new Error('sweep budget spent'));
    deadline.release();
  });

  it('ends at its own time, as a timeout', async () => {
    const deadline = deadlineWithin(20, new AbortController().signal);
    await new Promise((resolve) => deadline.signal.addEventListener('abort', resolve));
    expect(deadline.signal.reason).toMatchObject({ name: 'TimeoutError' });
    expect(deadline.signal.reason).toBeInstanceOf(Error);
  });

  it('starts ended under an outside signal that already ended', () => {
    const outer = AbortSignal.abort(new Error('spent'));
    const deadline = deadlineWithin(60_000, outer);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.at).toBeGreaterThan(Date.now());
    deadline.release();
  });

  // What a sweep does: thousands of requests, each with its own deadline, under one long-lived signal.
  it('leaves nothing behind on the outside signal once released', () => {
    const outer = new AbortController();
    const deadlines = Array.from({ length: 1000 }, () => deadlineWithin(60_000, outer.signal));
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(1000);
    for (const deadline of deadlines) deadline.release();
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
    outer.abort();
    expect(deadlines.every((d) => !d.signal.aborted)).toBe(true);
  });
});
