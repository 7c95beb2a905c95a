import type { ResultInfo } from '../notifications/notificationSchema.js';
import type { StoredPendingJoin } from './joinLedger.js';
import { PENDING_JOIN_ADOPTION_MINUTES, trackJoinedCall, type JoinDeps } from './joinMeeting.js';
import { scheduleRejoin } from './rejoin.js';
import type { RejoinAttempt } from './rejoinQueue.js';

/**
 * A notification about a call that has no row, carrying the join id of one of the bot's own joins
 * (its callback URL). The call is the bot's: it is tracked now rather than dropped, so it is kept
 * alive (and has what a rejoin needs). Either the create's answer has not arrived yet (the row is
 * then already there when it does), or it never will (its outcome was unknown). An ended call, a
 * settled join, one that is not the bot's, or one too old to be waiting, adopts nothing: no row is
 * brought back.
 */
export async function adoptJoinedCall(callId: string, joinId: string, deps: JoinDeps): Promise<'adopted' | 'ended' | 'notAdopted'> {
  const { joinLedger, clock, log } = deps;
  const join = await joinLedger.get(joinId);
  if (join?.ended?.callId === callId) return 'ended';
  if (!join || join.stage === 'closed') return 'notAdopted';
  if (join.adoptedCallId !== undefined && join.adoptedCallId !== callId) return 'notAdopted';
  if (clock().getTime() - join.requestedAt.getTime() > PENDING_JOIN_ADOPTION_MINUTES * 60_000) {
    log.warn(`Call ${callId}: join ${joinId} is older than ${PENDING_JOIN_ADOPTION_MINUTES} minutes; not adopted`);
    return 'notAdopted';
  }
  await trackJoinedCall(callId, 'establishing', join, deps);
  // A join whose create already returned has nobody else to settle it.
  await joinLedger.update(joinId, (current) => ({ adoptedCallId: callId, stage: current.stage === 'unknown' ? 'closed' : current.stage }));
  log.warn(
    `Call ${callId}: adopted as the call of join ${joinId} ` +
      `(${join.stage === 'creating' ? "its create's answer had not arrived yet" : "its create's outcome was unknown"})`,
  );
  return 'adopted';
}

/**
 * The termination of a call that has no row, from one of the bot's joins. While the create is still
 * under way, the end is kept on the ledger for the join to find once it stores the row (or for the
 * join's settle message, should the join never get that far); after an unknown outcome, nobody else
 * will, so the end is handled here (a rejoin if it was abnormal).
 */
export async function endOfUntrackedJoin(
  callId: string,
  joinId: string,
  resultInfo: ResultInfo | undefined,
  deps: JoinDeps,
): Promise<'noted' | 'notOurs'> {
  const current = await deps.joinLedger.get(joinId);
  if (!current || current.stage === 'closed' || current.ended) return 'notOurs';
  const handledHere = current.stage === 'unknown';
  const join = await deps.joinLedger.update(joinId, (latest) =>
    latest.ended ? undefined : { ended: { callId, resultInfo, handled: handledHere }, stage: handledHere ? 'closed' : latest.stage },
  );
  if (join === 'missing') return 'notOurs';
  if (handledHere) await scheduleRejoin({ callId, joinInfo: join.joinInfo, rejoinAttempts: join.rejoinAttempts }, resultInfo, deps);
  deps.log.info(`Call ${callId}: ended before it was tracked; join ${joinId} noted it`);
  return 'noted';
}

/**
 * Records on a join's ledger entry that its call ended and that the termination (which found the
 * row) dealt with it, so a create answer that arrives afterwards neither brings the row back for
 * good nor rejoins a second time. Best effort: the entry may well be settled and gone already.
 */
export async function noteEndOfTrackedJoin(
  callId: string,
  joinId: string,
  resultInfo: ResultInfo | undefined,
  deps: JoinDeps,
): Promise<void> {
  await deps.joinLedger
    .update(joinId, (current) =>
      current.ended || current.stage === 'closed' ? undefined : { ended: { callId, resultInfo, handled: true } },
    )
    .catch((error: unknown) => deps.log.warn(`Call ${callId}: its end was not noted on join ${joinId} (${String(error)})`));
}

/** Undoes `noteEndOfTrackedJoin` when the end could not be handled after all (its rejoin not queued). */
export async function reopenEndOfTrackedJoin(callId: string, joinId: string, deps: JoinDeps): Promise<void> {
  await deps.joinLedger
    .update(joinId, (current) =>
      current.ended?.callId === callId && current.ended.handled ? { ended: { ...current.ended, handled: false } } : undefined,
    )
    .catch((error: unknown) => deps.log.warn(`Call ${callId}: join ${joinId} not told its end is unhandled (${String(error)})`));
}

/**
 * A join's settle message, some minutes after the join was asked for. A settled (closed) or adopted
 * join is simply removed. An end that nobody dealt with (the join's instance died before storing the
 * row) is dealt with now. A join that is still open and has heard nothing made no call: Graph reports
 * a call it made within seconds. Its entry goes, and for a rejoin the next attempt (if any) is made.
 */
export async function settlePendingJoin(
  joinId: string,
  next: RejoinAttempt | undefined,
  deps: JoinDeps,
): Promise<'gone' | 'settled' | 'noCall'> {
  const { joinLedger, rejoinQueue, log } = deps;
  const join = await joinLedger.get(joinId);
  if (!join) return 'gone';
  if (join.stage === 'closed' || join.adoptedCallId !== undefined || join.ended?.handled) {
    await joinLedger.remove(joinId);
    return 'settled';
  }
  if (join.createdCallId !== undefined && !join.ended) {
    await trackOrEnd(join.createdCallId, join, deps);
    await joinLedger.remove(joinId);
    return 'settled';
  }
  if (join.ended) {
    log.warn(
      `Call ${join.ended.callId}: ended before its join ${joinId} could store it, and nobody dealt with the end; dealing with it now`,
    );
    await scheduleRejoin(
      { callId: join.ended.callId, joinInfo: join.joinInfo, rejoinAttempts: join.rejoinAttempts },
      join.ended.resultInfo,
      deps,
    );
    await joinLedger.remove(joinId);
    return 'settled';
  }
  const retry = next !== undefined && next.attempt <= deps.rejoin.attempts;
  log.warn(
    `Join ${joinId}: no call was reported for it in ${PENDING_JOIN_ADOPTION_MINUTES} minutes, so Graph made none; ` +
      (retry ? `rejoin attempt ${next.attempt} of call ${next.callId} scheduled` : 'nothing to adopt'),
  );
  if (retry) await rejoinQueue.schedule({ kind: 'rejoin', ...next }, 0);
  await joinLedger.remove(joinId);
  return 'noCall';
}

/**
 * A call Graph made for a join whose row could not be stored when it answered (and whose hang-up
 * failed too), and that no notification has adopted since: stored now, or, failing that, ended.
 * Throws when neither works, so the settle message is tried again by the host.
 */
async function trackOrEnd(callId: string, join: StoredPendingJoin, deps: JoinDeps): Promise<void> {
  try {
    await trackJoinedCall(callId, 'establishing', join, deps);
    deps.log.warn(`Call ${callId}: stored for join ${join.joinId} by its settle message (its row could not be stored when Graph made it)`);
    return;
  } catch (error) {
    const hungUp = await deps.graph.hangUp(callId);
    if (hungUp.ok || hungUp.status === 404) {
      deps.log.error(`Call ${callId}: still could not be stored for join ${join.joinId} (${String(error)}); hung up`);
      return;
    }
    throw new Error(`Call ${callId}: neither stored nor hung up for join ${join.joinId}: ${String(error)}`);
  }
}

/**
 * A notification for a call one of the bot's joins made (its callback URL says so) that has no row
 * and cannot be adopted (its join settled long ago, or is too old): the call is the bot's, live as
 * far as the bot can tell, and would otherwise get no keepAlive. It is ended on purpose.
 */
export async function hangUpUntrackedJoinCall(callId: string, joinId: string, deps: JoinDeps): Promise<void> {
  const hungUp = await deps.graph.hangUp(callId);
  if (hungUp.ok) {
    deps.log.error(
      `Call ${callId}: a call of join ${joinId} that is not tracked and cannot be adopted; hung up rather than left without keepAlive`,
    );
  } else if (hungUp.status !== 404) {
    // Answered 5xx by the caller, so Graph's redelivery tries again.
    throw new Error(`Call ${callId}: untracked call of join ${joinId} could not be hung up (Graph ${hungUp.status ?? 'no response'})`);
  }
}
