import type { SweepSummary } from './sweepKeepAlive.js';

/**
 * What one sweep did, kept so `GET /api/health` can tell whether calls are being kept alive.
 * `scope` is `timer` for the timer's run (an inline sweep, or the hand-out of a fanned-out one)
 * and the shard name for a queue-triggered shard sweep.
 */
export interface SweepRecord {
  scope: string;
  /** The timer's start; a shard sweep carries the start of the timer run that enqueued it. */
  startedAt: Date;
  finishedAt: Date;
  outcome: SweepOutcome;
  summary?: SweepSummary | undefined;
  /** Why a failed sweep failed. */
  error?: string | undefined;
  /** For a fanned-out timer run: when the unbroken run of fanned-out timer runs it belongs to began. */
  fannedOutSince?: Date | undefined;
  /**
   * For a fanned-out timer run: an inline timer sweep ran out of its budget, so the timer keeps
   * handing out until then, whatever the projection says (see `sweepProjection.ts`).
   */
  fanOutHeldUntil?: Date | undefined;
}

/**
 * `failed`: the sweep stopped, or every keepAlive it sent failed. `partial`: some failed, or some
 * rows could not be read, or the time budget ran out before every due call was sent.
 */
export type SweepOutcome = 'ok' | 'partial' | 'failed' | 'fanned-out';

export const TIMER_SCOPE = 'timer';

export interface SweepStatusStore {
  /** Replaces the record of the same scope. */
  record(record: SweepRecord): Promise<void>;
  all(): Promise<SweepRecord[]>;
}

export function outcomeOf(summary: SweepSummary): SweepOutcome {
  if (summary.sent > 0 && summary.ok + summary.ended === 0) return 'failed';
  const incomplete = summary.failed > 0 || summary.unreadable > 0 || summary.skippedForBudget > 0 || summary.budgetExhausted;
  return incomplete ? 'partial' : 'ok';
}
