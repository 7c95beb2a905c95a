import type { ResultInfo } from '../notifications/notificationSchema.js';
import { PENDING_JOIN_ADOPTION_MINUTES, trackJoinedCall, type JoinDeps } from './joinMeeting.js';
import { scheduleRejoin } from './rejoin.js';

/**
 * A notification about a call that has no row, carrying the join id of one of the bot's own joins
 * (its callback URL). The call is the bot's: it is tracked now rather than dropped, so it is kept
 * alive (and has what a rejoin needs). Either the create's answer has not arrived yet (the row is
 * then already there when it does), or it never will (its outcome was unknown). An ended call, a
 * join that is not the bot's, or one too old to be waiting, adopts nothing: no row is brought back.
 */
export async function adoptJoinedCall(callId: string, joinId: string, deps: JoinDeps): Promise<'adopted' | 'notAdopted'> {
  const { joinLedger, clock, log } = deps;
  const join = await joinLedger.get(joinId);
  if (!join) return 'notAdopted';
  if (clock().getTime() - join.requestedAt.getTime() > PENDING_JOIN_ADOPTION_MINUTES * 60_000) {
    log.warn(`Call ${callId}: join ${joinId} is older than ${PENDING_JOIN_ADOPTION_MINUTES} minutes; not adopted`);
    return 'notAdopted';
  }
  if (join.ended?.callId === callId) return 'notAdopted';
  await trackJoinedCall(callId, 'establishing', join, deps);
  log.warn(
    `Call ${callId}: adopted as the call of join ${joinId} ` +
      `(${join.stage === 'creating' ? "its create's answer had not arrived yet" : "its create's outcome was unknown"})`,
  );
  // A join whose create already returned has nobody else to close its entry.
  if (join.stage === 'unknown') await joinLedger.close(joinId);
  return 'adopted';
}

/**
 * The termination of a call that has no row, from one of the bot's joins. While the create is still
 * under way, the end is kept on the ledger for the join to find once it stores the row; after an
 * unknown outcome, nobody else will, so the end is handled here (a rejoin if it was abnormal).
 */
export async function endOfUntrackedJoin(
  callId: string,
  joinId: string,
  resultInfo: ResultInfo | undefined,
  deps: JoinDeps,
): Promise<'noted' | 'notOurs'> {
  const join = await deps.joinLedger.update(joinId, (current) => (current.ended ? undefined : { ended: { callId, resultInfo } }));
  if (join === 'missing') return 'notOurs';
  if (join.stage === 'unknown') {
    await scheduleRejoin({ callId, joinInfo: join.joinInfo, rejoinAttempts: join.rejoinAttempts }, resultInfo, deps);
    await deps.joinLedger.close(joinId);
  }
  deps.log.info(`Call ${callId}: ended before it was tracked; join ${joinId} noted it`);
  return 'noted';
}
