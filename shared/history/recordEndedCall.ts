import type { StoredCall } from '../calls/callStore.js';
import { untilAborted } from '../deadline.js';
import type { Logger } from '../logger.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';
import { historyRecordOf, type CallHistory, type CallHistoryRecord } from './callHistory.js';

// The history is a convenience, the live path is not: a slow history write must not hold a
// notification's answer (or a sweep) for long.
const HISTORY_WRITE_TIMEOUT_MS = 3_000;

/** How many expired records one sweep removes at most: the rest are the next sweep's. */
export const HISTORY_PRUNE_BATCH = 1_000;

export interface HistoryDeps {
  /** Absent: no history is kept. */
  history?: CallHistory | undefined;
  clock: () => Date;
  log: Logger;
}

/**
 * Keeps the record of a call whose row just went. Never throws: a failed history write is logged,
 * and the call's row goes all the same.
 */
export async function recordEndedCall(
  call: StoredCall,
  end: { resultInfo: ResultInfo | undefined; endedBy: CallHistoryRecord['endedBy'] },
  { history, clock, log }: HistoryDeps,
): Promise<void> {
  if (!history) return;
  const signal = AbortSignal.timeout(HISTORY_WRITE_TIMEOUT_MS);
  try {
    // Raced as well as aborted: not every step of a write (creating the table on first use) takes the signal.
    const write = history.record(historyRecordOf(call, { ...end, endedAt: clock() }), { abortSignal: signal });
    await untilAborted(write, signal, () => new Error(`no answer within ${HISTORY_WRITE_TIMEOUT_MS / 1000} s`));
  } catch (error) {
    log.warn(`Call ${call.callId}: its history record was not written (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Removes records older than `days`, at most a batch per call; logged, never thrown. */
export async function pruneHistory(days: number, { history, clock, log }: HistoryDeps): Promise<number> {
  if (!history) return 0;
  try {
    const removed = await history.removeEndedBefore(new Date(clock().getTime() - days * 86_400_000), HISTORY_PRUNE_BATCH);
    if (removed > 0) log.info(`Call history: ${removed} record(s) older than ${days} day(s) removed`);
    return removed;
  } catch (error) {
    log.warn(
      `Call history: expired records not removed (${error instanceof Error ? error.message : String(error)}); the next sweep tries again`,
    );
    return 0;
  }
}
