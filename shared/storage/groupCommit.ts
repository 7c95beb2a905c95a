import { setMaxListeners } from 'node:events';

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
}

interface Waiting<T, R> {
  item: T;
  signal: AbortSignal | undefined;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
  /** Drops the waiting item's abort listener. */
  release: () => void;
}

/**
 * Group commit: an item whose group has nothing in flight is sent at once, alone, so a lone
 * write waits for nobody. Items that arrive while a request of their group is in flight wait for
 * it and then go together, up to `maxBatch` to a request. Under a burst this turns a request per
 * item into a few per group; with no burst it adds no wait and no request.
 *
 * An item's signal counts while it waits too: one whose signal aborts before it is sent is taken
 * out and rejected with the signal's reason, and never sent. A shared request is cut short only
 * once every item in it has been given up (each caller races its own deadline meanwhile).
 */
export class GroupCommit<T, R> {
  private readonly busy = new Map<string, Waiting<T, R>[]>();

  constructor(private readonly options: GroupCommitOptions<T, R>) {}

  submit(group: string, item: T, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) return Promise.reject(reasonOf(signal));
    const queue = this.busy.get(group);
    if (queue) return this.wait(queue, item, signal);
    this.busy.set(group, []);
    const sent = this.options.one(item, signal);
    void sent.then(
      () => this.drain(group),
      () => this.drain(group),
    );
    return sent;
  }

  private wait(queue: Waiting<T, R>[], item: T, signal: AbortSignal | undefined): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => {
        const at = queue.indexOf(waiting);
        if (at >= 0) queue.splice(at, 1);
        reject(reasonOf(signal!));
      };
      const waiting: Waiting<T, R> = { item, signal, resolve, reject, release: () => signal?.removeEventListener('abort', onAbort) };
      if (signal) {
        // One listener per waiting write on a notification's deadline: not a leak.
        setMaxListeners(0, signal);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      queue.push(waiting);
    });
  }

  /** Sends what waited for the group's last request, round after round, until nothing waits. */
  private async drain(group: string): Promise<void> {
    const queue = this.busy.get(group)!;
    while (queue.length > 0) {
      const batch = queue.splice(0, this.options.maxBatch);
      for (const waiting of batch) waiting.release();
      await this.send(batch);
    }
    this.busy.delete(group);
  }

  private async send(batch: Waiting<T, R>[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Waiting<T, R>];
      await this.options.one(only.item, only.signal).then(only.resolve, only.reject);
      return;
    }
    const shared = whenAllAborted(batch.map((waiting) => waiting.signal));
    try {
      const results = await this.options.many(
        batch.map((waiting) => waiting.item),
        shared.signal,
      );
      batch.forEach((waiting, i) => waiting.resolve(results[i]!));
      return;
    } catch {
      // All or nothing, and the failure may be one item's alone (a row that exists, one too large
      // to store): each is sent alone, and gets the outcome that is its own.
    } finally {
      shared.release();
    }
    await Promise.all(batch.map((waiting) => this.options.one(waiting.item, waiting.signal).then(waiting.resolve, waiting.reject)));
  }
}

/** A signal that aborts once all of `signals` have; none when one of them is missing (that item has no limit). */
function whenAllAborted(signals: ReadonlyArray<AbortSignal | undefined>): { signal: AbortSignal | undefined; release(): void } {
  if (signals.some((signal) => signal === undefined)) return { signal: undefined, release: () => undefined };
  const controller = new AbortController();
  const listening = new AbortController();
  let left = signals.length;
  for (const signal of signals as AbortSignal[]) {
    const onAbort = () => {
      if (--left === 0) controller.abort(signal.reason);
    };
    if (signal.aborted) onAbort();
    else {
      setMaxListeners(0, signal);
      signal.addEventListener('abort', onAbort, { once: true, signal: listening.signal });
    }
  }
  return { signal: controller.signal, release: () => listening.abort() };
}

/** Why an item was given up: its signal's reason, as `fetch` and the storage SDK reject. */
function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}
