import type { GraphCalls, GraphOutcome } from '../graph/graphCalls.js';
import { recordEndedCall, type HistoryDeps } from '../history/recordEndedCall.js';
import type { Logger } from '../logger.js';
import { UnreadableCallError, type CallStore, type StoredCall, type UpdateResult } from './callStore.js';

export interface HangUpDeps extends HistoryDeps {
  store: CallStore;
  graph: GraphCalls;
}

// How long a hang-up's mark stands for a DELETE under way; after that a new hang-up asks Graph again.
const REPEAT_HANG_UP_AFTER_MS = 60_000;

export type HangUpOutcome =
  /** Graph accepted; the row goes when the terminated notification arrives. */
  | { kind: 'hangingUp' }
  /** Graph answered 404: the call was already over, and its row is gone. */
  | { kind: 'ended' }
  | { kind: 'unknownCall' }
  | { kind: 'failed'; status: number | undefined; code: string | undefined; message: string };

/**
 * Hangs up a tracked call (`DELETE /communications/calls/{id}`). The row is marked first, so the
 * terminated notification that follows is known to be asked for and does not trigger a rejoin.
 */
export async function hangUpCall(callId: string, why: string, deps: HangUpDeps, deadline?: AbortSignal): Promise<HangUpOutcome> {
  const { store, graph, clock, log } = deps;
  const at = clock();
  const { outcome: marked, call } = await markHangUp(callId, at, store, log);
  const markedAt = call?.hangUpRequestedAt;
  if (marked === 'missing') return { kind: 'unknownCall' };
  // Another hang-up of this call went out moments ago (two key presses at once, a prompt's end and
  // an operator's DELETE): a second DELETE could only answer 404 and remove the row before Graph's
  // terminated notification, losing how the call ended. An old mark is no such guard: a hang-up
  // whose instance stopped before it asked Graph must not block this one.
  if (marked === 'unchanged' && markedAt !== undefined && at.getTime() - markedAt.getTime() < REPEAT_HANG_UP_AFTER_MS) {
    log.info(`Call ${callId}: already being hung up (since ${markedAt.toISOString()}); ${why}`);
    return { kind: 'hangingUp' };
  }
  let result: GraphOutcome;
  try {
    result = await graph.hangUp(callId, deadline);
  } catch (error) {
    if (marked === 'updated') await unmarkHangUp(callId, at, store, log);
    throw error;
  }
  if (result.ok) {
    log.info(`Call ${callId}: hanging up (${why})`);
    return { kind: 'hangingUp' };
  }
  if (result.status === 404) {
    await store.remove(callId);
    // The row as the mark read it (or wrote it): its history record needs no read of its own.
    if (call) await recordEndedCall(call, { resultInfo: undefined, endedBy: 'hangUp404' }, deps);
    log.info(`Call ${callId}: hang-up answered 404, the call had already ended; removed`);
    return { kind: 'ended' };
  }
  log.warn(`Call ${callId}: hang-up failed (Graph ${result.status ?? 'no response'} ${result.code ?? ''}: ${result.message})`);
  // The call goes on, so a later abnormal end must be rejoined as usual. Should Graph have hung up
  // after all (no response), its terminated notification says 200/7000, a normal end: not rejoined.
  if (marked === 'updated') await unmarkHangUp(callId, at, store, log);
  return { kind: 'failed', status: result.status, code: result.code, message: result.message };
}

/**
 * The sweep's step for a call it ends instead of keeping alive (a meeting the bot has had to itself
 * for LEAVE_WHEN_ALONE_MINUTES, a placed call whose key press never came). Whether the call is on
 * its way out; when it is not (a failed hang-up, a fault, logged), the call lives on and the sweep
 * must still keep it alive.
 */
export async function hangUpFromSweep(callId: string, why: string, deps: HangUpDeps, deadline?: AbortSignal): Promise<boolean> {
  try {
    const outcome = await hangUpCall(callId, why, deps, deadline);
    return outcome.kind !== 'failed';
  } catch (error) {
    deps.log.error(`Call ${callId}: hanging up (${why}) failed: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

/**
 * Marks the row as hung up on purpose. A row that cannot be read is not marked (nothing is written
 * over what cannot be read) but the hang-up goes ahead: it needs only the call id, and such a row
 * is never rejoined, since its meeting details cannot be read either.
 */
async function markHangUp(
  callId: string,
  at: Date,
  store: CallStore,
  log: Logger,
): Promise<{ outcome: UpdateResult['outcome'] | 'unreadable'; call?: StoredCall | undefined }> {
  try {
    const marked = await store.update(callId, (current) => (current.hangUpRequestedAt ? undefined : { hangUpRequestedAt: at }));
    return { outcome: marked.outcome, call: marked.outcome === 'missing' ? undefined : marked.call };
  } catch (error) {
    if (!(error instanceof UnreadableCallError)) throw error;
    log.warn(`Call ${callId}: its row cannot be read (${error.row.problem}); hanging up without marking it`);
    return { outcome: 'unreadable' };
  }
}

/**
 * Removes the mark this hang-up set, under the row's ETag and only while it is still this hang-up's
 * (another hang-up may have marked the row since). A failure to do so is logged with what it costs.
 */
async function unmarkHangUp(callId: string, at: Date, store: CallStore, log: Logger): Promise<void> {
  try {
    await store.update(callId, (current) =>
      current.hangUpRequestedAt?.getTime() === at.getTime() ? { hangUpRequestedAt: null } : undefined,
    );
  } catch (error) {
    log.error(
      `Call ${callId}: the failed hang-up's mark could not be removed, so an abnormal end of this call will not be rejoined: ` +
        `${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
