import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { deadlineWithin, untilAborted } from '../shared/deadline.js';

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

describe('untilAborted', () => {
  it('settles as the work does while the signal holds, and leaves no listener behind', async () => {
    const outer = new AbortController();
    await expect(untilAborted(Promise.resolve('done'), outer.signal)).resolves.toBe('done');
    await expect(untilAborted(Promise.reject(new Error('failed')), outer.signal)).rejects.toThrow('failed');
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
  });

  it('rejects at the abort, with the reason given or the signal’s, while the work goes on', async () => {
    let finish!: (value: string) => void;
    const work = new Promise<string>((resolve) => (finish = resolve));
    const outer = new AbortController();
    const waiting = untilAborted(work, outer.signal, () => new Error('no answer within 5 s'));
    const own = untilAborted(work, outer.signal);
    outer.abort(new Error('budget spent'));
    await expect(waiting).rejects.toThrow('no answer within 5 s');
    await expect(own).rejects.toThrow('budget spent');
    finish('late');
    await expect(work).resolves.toBe('late');
  });

  it('rejects at once under a signal already aborted, and a late failure of the work is handled', async () => {
    let fail!: (error: Error) => void;
    const work = new Promise<string>((_, reject) => (fail = reject));
    await expect(untilAborted(work, AbortSignal.abort(new Error('spent')))).rejects.toThrow('spent');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    fail(new Error('too late'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('waits on the work alone without a signal', async () => {
    await expect(untilAborted(Promise.resolve(1), undefined)).resolves.toBe(1);
  });
});
