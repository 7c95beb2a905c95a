export interface GroupCommitOptions<T, R> {
  /** Sends one item in a request of its own, cut short by `signal`. */
  one(item: T, signal: AbortSignal | undefined): Promise<R>;
  /**
   * Sends items of one group in a single all-or-nothing request: one result per item, in order.
   * If it throws, nothing is taken from it: every item is then sent alone, so each gets exactly
   * the outcome a request of its own would have had.
   */
  many(items: readonly T[], signal: AbortSignal | undefined): Promise<readonly R[]>;
  /** The most items one request may carry. */
  maxBatch: number;
  /**
   * The longest an item waits for its group's request in flight before it goes alone: a request
   * that hangs or is retried for seconds holds its group back no longer than this.
   */
  maxWaitMs: number;
  /**
   * The longest a shared request may take: then it is cut short and its items go alone, so a
   * stalled connection or a request retried for seconds costs its items this much, not their
   * deadlines. (`many` must leave its items as if never sent, or tell them apart when sent again.)
   */
  maxSharedMs: number;
  /** A shared request failed and its items were sent alone (told so that it is seen, not to act on). */
  onSharedFailure?: (error: unknown, items: number) => void;
}

interface Waiting<T, R> {
  item: T;
  signal: AbortSignal;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
  /** Drops the item's timer and abort listener: it is leaving the queue. */
  release: () => void;
}

/**
 * Group commit: an item whose group has nothing in flight is sent at once, alone, so a lone
 * write waits for nobody. Items that arrive while a request of their group is in flight wait for
 * it and then go together, up to `maxBatch` to a request. Under a burst this turns a request per
 * item into a few per group; with no burst it adds no wait and no request.
 *
 * What an item may lose by waiting is bounded: after `maxWaitMs` it goes alone, as it would have
 * without the grouping; one whose signal aborts while it waits is taken out and rejected with the
 * signal's reason, and never sent. A shared request is cut short once every item in it has been
 * given up (each caller races its own deadline meanwhile), or after `maxSharedMs`; a failed one does
 * not hold the group: its items go alone while the next ones are sent. An item without a signal
 * is only ever sent alone.
 */
export class GroupCommit<T, R> {
  private readonly busy = new Map<string, Waiting<T, R>[]>();

  constructor(private readonly options: GroupCommitOptions<T, R>) {}

  submit(group: string, item: T, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) return Promise.reject(reasonOf(signal));
    // An item with no limit of its own goes alone and leaves the group as it is: a request of its
    // that hangs must not hold the group.
    if (!signal) return this.sendOne(item, undefined);
    const queue = this.busy.get(group);
    if (queue) return this.wait(queue, item, signal);
    this.busy.set(group, []);
    const sent = this.sendOne(item, signal);
    const drain = () => this.drain(group);
    void sent.then(drain, drain);
    return sent;
  }

  private wait(queue: Waiting<T, R>[], item: T, signal: AbortSignal): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const leave = () => {
        waiting.release();
        const at = queue.indexOf(waiting);
        if (at >= 0) queue.splice(at, 1);
      };
      const onAbort = () => {
        leave();
        reject(reasonOf(signal));
      };
      const timer = setTimeout(() => {
        leave();
        this.sendOne(item, signal).then(resolve, reject);
      }, this.options.maxWaitMs);
      const waiting: Waiting<T, R> = {
        item,
        signal,
        resolve,
        reject,
        release: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      queue.push(waiting);
    });
  }

  /** Sends what waited for the group's last request, round after round, until nothing waits. */
  private async drain(group: string): Promise<void> {
    const queue = this.busy.get(group)!;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, this.options.maxBatch);
        for (const waiting of batch) waiting.release();
        await this.send(batch);
      }
    } finally {
      this.busy.delete(group);
    }
  }

  private async send(batch: Waiting<T, R>[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Waiting<T, R>];
      await this.sendOne(only.item, only.signal).then(only.resolve, only.reject);
      return;
    }
    const shared = sharedSignal(
      batch.map((waiting) => waiting.signal),
      this.options.maxSharedMs,
    );
    try {
      const results = await attempt(() =>
        this.options.many(
          batch.map((waiting) => waiting.item),
          shared.signal,
        ),
      );
      if (results.length !== batch.length) throw new Error(`a shared request answered ${results.length} results for ${batch.length} items`);
      batch.forEach((waiting, i) => waiting.resolve(results[i]!));
    } catch (error) {
      // All or nothing, and the failure may be one item's alone (a row that exists, one too large
      // to store): each is sent alone and gets the outcome that is its own. Not awaited: the next
      // items of the group need not wait for these.
      for (const waiting of batch) this.sendOne(waiting.item, waiting.signal).then(waiting.resolve, waiting.reject);
      this.options.onSharedFailure?.(error, batch.length);
    } finally {
      shared.release();
    }
  }

  private sendOne(item: T, signal: AbortSignal | undefined): Promise<R> {
    return attempt(() => this.options.one(item, signal));
  }
}

/** `work()`, with a synchronous throw turned into a rejection (a group must never be left busy). */
function attempt<R>(work: () => Promise<R>): Promise<R> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** A signal that aborts once all of `signals` have (nobody waits for the result), or after `maxMs`. */
function sharedSignal(signals: readonly AbortSignal[], maxMs: number): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const listening = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`a shared request took over ${maxMs} ms`, 'TimeoutError')), maxMs);
  let left = signals.length;
  for (const signal of signals) {
    const onAbort = () => {
      if (--left === 0) controller.abort(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true, signal: listening.signal });
  }
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      listening.abort();
    },
  };
}

/** Why an item was given up: its signal's reason, as `fetch` and the storage SDK reject. */
function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}
