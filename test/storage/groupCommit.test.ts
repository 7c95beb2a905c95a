import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { GroupCommit } from '../../shared/storage/groupCommit.js';

/** A request that settles when the test says so. */
interface Pending {
  items: string[];
  signal: AbortSignal | undefined;
  settle(outcome: { results?: string[]; error?: Error }): void;
}

/**
 * Requests are recorded and left open, so the test decides what is in flight. `commit.submit` gives
 * each item a signal of its own unless told otherwise (as the store's callers pass their deadline's).
 */
function recorder(maxBatch = 100, maxWaitMs = 60_000, maxSharedMs = 60_000) {
  const sent: Pending[] = [];
  const sharedFailures: Array<{ error: unknown; items: number }> = [];
  const request = (items: string[], signal: AbortSignal | undefined) =>
    new Promise<string[]>((resolve, reject) => {
      sent.push({
        items,
        signal,
        settle: ({ results, error }) => (error ? reject(error) : resolve(results ?? items.map((i) => `${i}:ok`))),
      });
    });
  const grouped = new GroupCommit<string, string>({
    maxBatch,
    maxWaitMs,
    maxSharedMs,
    one: async (item, signal) => (await request([item], signal))[0]!,
    many: (items, signal) => request([...items], signal),
    onSharedFailure: (error, items) => sharedFailures.push({ error, items }),
  });
  const commit = {
    // An explicit `undefined` is an item without a signal.
    submit: (group: string, item: string, ...signal: [AbortSignal | undefined] | []) =>
      grouped.submit(group, item, signal.length === 0 ? new AbortController().signal : signal[0]),
  };
  return { commit, sent, sharedFailures };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('sends an item of an idle group at once, alone', async () => {
    const { commit, sent } = recorder();
    const result = commit.submit('p1', 'a');
    expect(sent.map((r) => r.items)).toEqual([['a']]);
    sent[0]!.settle({});
    await expect(result).resolves.toBe('a:ok');
  });

  it('sends what arrived while a request was in flight together, once it is done', async () => {
    const { commit, sent } = recorder();
    const results = ['a', 'b', 'c', 'd'].map((item) => commit.submit('p1', item));
    expect(sent.map((r) => r.items)).toEqual([['a']]);
    sent[0]!.settle({});
    await tick();
    expect(sent.map((r) => r.items)).toEqual([['a'], ['b', 'c', 'd']]);
    sent[1]!.settle({});
    await expect(Promise.all(results)).resolves.toEqual(['a:ok', 'b:ok', 'c:ok', 'd:ok']);
    // The group is idle again: the next item goes alone, at once.
    void commit.submit('p1', 'e');
    expect(sent.at(-1)!.items).toEqual(['e']);
  });

  it('keeps groups apart: one group in flight does not hold another back', () => {
    const { commit, sent } = recorder();
    void commit.submit('p1', 'a');
    void commit.submit('p1', 'b');
    void commit.submit('p2', 'c');
    expect(sent.map((r) => r.items)).toEqual([['a'], ['c']]);
  });

  it('puts at most maxBatch items in a request', async () => {
    const { commit, sent } = recorder(2);
    const results = ['a', 'b', 'c', 'd', 'e'].map((item) => commit.submit('p1', item));
    sent[0]!.settle({});
    await tick();
    expect(sent.at(-1)!.items).toEqual(['b', 'c']);
    sent[1]!.settle({});
    await tick();
    expect(sent.at(-1)!.items).toEqual(['d', 'e']);
    sent[2]!.settle({});
    await expect(Promise.all(results)).resolves.toHaveLength(5);
  });

  it('sends every item alone when a shared request fails, each getting its own outcome', async () => {
    const { commit, sent, sharedFailures } = recorder();
    void commit.submit('p1', 'a');
    const results = ['b', 'c', 'd'].map((item) => commit.submit('p1', item));
    sent[0]!.settle({});
    await tick();
    sent[1]!.settle({ error: new Error('409: one row exists') });
    await tick();
    expect(sent.slice(2).map((r) => r.items)).toEqual([['b'], ['c'], ['d']]);
    sent[2]!.settle({});
    sent[3]!.settle({ error: new Error('c was refused') });
    sent[4]!.settle({ results: ['d:exists'] });
    await expect(results[0]).resolves.toBe('b:ok');
    await expect(results[1]).rejects.toThrow('c was refused');
    await expect(results[2]).resolves.toBe('d:exists');
    expect(sharedFailures).toEqual([{ error: new Error('409: one row exists'), items: 3 }]);
  });

  it('does not hold the group while the items of a failed shared request go alone', async () => {
    const { commit, sent } = recorder();
    void commit.submit('p1', 'a');
    void commit.submit('p1', 'b').catch(() => undefined);
    void commit.submit('p1', 'c').catch(() => undefined);
    sent[0]!.settle({});
    await tick();
    void commit.submit('p1', 'd');
    void commit.submit('p1', 'e');
    sent[1]!.settle({ error: new Error('refused') });
    await tick();
    // b and c are sent alone, and d and e go together at once, without waiting for them.
    expect(sent.slice(2).map((r) => r.items)).toEqual([['b'], ['c'], ['d', 'e']]);
  });

  it('treats a shared answer with too few results as failed, and sends each item alone', async () => {
    const { commit, sent, sharedFailures } = recorder();
    void commit.submit('p1', 'a');
    const results = ['b', 'c'].map((item) => commit.submit('p1', item));
    sent[0]!.settle({});
    await tick();
    sent[1]!.settle({ results: ['b:ok'] });
    await tick();
    expect(sent.slice(2).map((r) => r.items)).toEqual([['b'], ['c']]);
    sent[2]!.settle({});
    sent[3]!.settle({});
    await expect(Promise.all(results)).resolves.toEqual(['b:ok', 'c:ok']);
    expect(sharedFailures[0]!.error).toEqual(new Error('a shared request answered 1 results for 2 items'));
  });

  it('goes on with the group after its lone request fails', async () => {
    const { commit, sent } = recorder();
    const first = commit.submit('p1', 'a');
    const next = ['b', 'c'].map((item) => commit.submit('p1', item));
    sent[0]!.settle({ error: new Error('storage unreachable') });
    await expect(first).rejects.toThrow('storage unreachable');
    await tick();
    expect(sent[1]!.items).toEqual(['b', 'c']);
    sent[1]!.settle({});
    await expect(Promise.all(next)).resolves.toEqual(['b:ok', 'c:ok']);
  });

  it('never leaves a group busy when sending throws at once', async () => {
    let calls = 0;
    const commit = new GroupCommit<string, string>({
      maxBatch: 100,
      maxWaitMs: 60_000,
      maxSharedMs: 60_000,
      one: (item) => {
        if (calls++ === 0) throw new Error('thrown, not rejected');
        return Promise.resolve(`${item}:ok`);
      },
      many: (items) => Promise.resolve(items.map((item) => `${item}:ok`)),
    });
    await expect(commit.submit('p1', 'a', new AbortController().signal)).rejects.toThrow('thrown, not rejected');
    await expect(commit.submit('p1', 'b', new AbortController().signal)).resolves.toBe('b:ok');
  });

  it('sends an item alone once it has waited maxWaitMs for a request that does not end', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { commit, sent } = recorder(100, 500);
      void commit.submit('p1', 'a');
      const waiting = commit.submit('p1', 'b');
      vi.advanceTimersByTime(499);
      expect(sent.map((r) => r.items)).toEqual([['a']]);
      vi.advanceTimersByTime(1);
      expect(sent.map((r) => r.items)).toEqual([['a'], ['b']]);
      sent[1]!.settle({});
      await expect(waiting).resolves.toBe('b:ok');
      // Once the stuck request ends, nothing is sent twice.
      sent[0]!.settle({});
      await tick();
      expect(sent).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes out an item whose signal aborts while it waits, and never sends it', async () => {
    const { commit, sent } = recorder();
    void commit.submit('p1', 'a');
    const waiting = new AbortController();
    const given = commit.submit('p1', 'b', waiting.signal);
    const kept = commit.submit('p1', 'c');
    waiting.abort(new Error('deadline passed'));
    await expect(given).rejects.toThrow('deadline passed');
    sent[0]!.settle({});
    await tick();
    expect(sent.map((r) => r.items)).toEqual([['a'], ['c']]);
    sent[1]!.settle({});
    await expect(kept).resolves.toBe('c:ok');
  });

  it('refuses an item whose signal has already aborted without sending anything', async () => {
    const { commit, sent } = recorder();
    await expect(commit.submit('p1', 'a', AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late');
    expect(sent).toEqual([]);
  });

  it('cuts a shared request short only once every item in it has been given up', async () => {
    const { commit, sent } = recorder();
    void commit.submit('p1', 'a');
    const first = new AbortController();
    const second = new AbortController();
    void commit.submit('p1', 'b', first.signal).catch(() => undefined);
    void commit.submit('p1', 'c', second.signal).catch(() => undefined);
    sent[0]!.settle({});
    await tick();
    const shared = sent[1]!.signal!;
    first.abort(new Error('b gave up'));
    expect(shared.aborted).toBe(false);
    second.abort(new Error('c gave up'));
    expect(shared.aborted).toBe(true);
  });

  it('sends an item without a signal alone at once, neither joining nor holding the group', async () => {
    const { commit, sent } = recorder();
    void commit.submit('p1', 'a', undefined);
    // The group is not busy: the next item goes alone at once too.
    void commit.submit('p1', 'b');
    void commit.submit('p1', 'c', undefined);
    expect(sent.map((r) => r.items)).toEqual([['a'], ['b'], ['c']]);
    expect(sent[0]!.signal).toBeUndefined();
  });

  it('cuts a shared request short after maxSharedMs and sends its items alone', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { commit, sent, sharedFailures } = recorder(100, 60_000, 1_000);
      void commit.submit('p1', 'a');
      const results = ['b', 'c'].map((item) => commit.submit('p1', item));
      sent[0]!.settle({});
      await tick();
      const shared = sent[1]!;
      shared.signal!.addEventListener('abort', () => shared.settle({ error: shared.signal!.reason as Error }));
      vi.advanceTimersByTime(999);
      expect(shared.signal!.aborted).toBe(false);
      vi.advanceTimersByTime(1);
      expect(shared.signal!.aborted).toBe(true);
      await tick();
      expect(sent.slice(2).map((r) => r.items)).toEqual([['b'], ['c']]);
      sent[2]!.settle({});
      sent[3]!.settle({});
      await expect(Promise.all(results)).resolves.toEqual(['b:ok', 'c:ok']);
      expect(sharedFailures[0]!.error).toMatchObject({ name: 'TimeoutError' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves no abort listener behind on the items it sent', async () => {
    const { commit, sent } = recorder();
    void commit.submit('p1', 'a');
    const signal = new AbortController().signal;
    const result = commit.submit('p1', 'b', signal);
    const other = commit.submit('p1', 'c', new AbortController().signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    sent[0]!.settle({});
    await tick();
    // In the shared request: listened to only for the request's own signal.
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    sent[1]!.settle({});
    await Promise.all([result, other]);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});
