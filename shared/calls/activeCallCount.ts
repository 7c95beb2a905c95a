import type { CallStore } from './callStore.js';

/**
 * The number of active calls, for MAX_ACTIVE_CALLS, without reading the table on every incoming call.
 *
 * Counting reads only the row keys (one request per 1,000 calls), and the count is reused for
 * `ttlMs`. Once it is older than that, the old count answers at once while a new one is taken in the
 * background, so an incoming call never waits on a count inside its 15 s (5 s) answer window, except
 * the first one after start-up. Calls this instance answers in between are added to the count.
 *
 * The trade-off: the cap is soft. Calls that end, and calls other instances answer, are seen only at
 * the next count, so the app may run up to a few calls over the cap (or turn one away just under it)
 * for up to `ttlMs`. With `ttlMs` = 0 every incoming call counts the table afresh: exact, and only
 * reasonable for small tables.
 */
export class ActiveCallCounter {
  private cached: { count: number; at: number } | undefined;
  private refreshing: Promise<number> | undefined;

  constructor(
    private readonly store: Pick<CallStore, 'countActive'>,
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `onStaleCount` hears of a background count that failed; the old count is used meanwhile. */
  async count(onStaleCount?: (error: unknown) => void): Promise<number> {
    if (this.ttlMs === 0) return this.store.countActive();
    const cached = this.cached;
    if (cached === undefined) return this.refresh();
    if (this.now() - cached.at >= this.ttlMs) {
      // A failed background count keeps the old one; the next call tries again.
      this.refresh().catch((error: unknown) => onStaleCount?.(error));
    }
    return cached.count;
  }

  /** This instance just answered a call: count it until the next count sees it. */
  noteAnswered(): void {
    if (this.cached) this.cached.count++;
  }

  /** Resolves once a count under way (if any) has finished. */
  async settled(): Promise<void> {
    // Waits for the count to finish either way; its failure was reported through count().
    await this.refreshing?.then(
      () => undefined,
      () => undefined,
    );
  }

  private refresh(): Promise<number> {
    this.refreshing ??= this.store
      .countActive()
      .then((count) => {
        this.cached = { count, at: this.now() };
        return count;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}
