import { randomUUID } from 'node:crypto';
import { isCallState, type CallState } from '../calls/callState.js';
import type { CallStore, JoinInfo } from '../calls/callStore.js';
import { statusForCaller, type GraphCalls, type GraphFailure } from '../graph/graphCalls.js';
import type { Logger } from '../logger.js';
import { callbackUrlForJoin } from './joinCorrelation.js';
import type { JoinLedger, PendingJoin } from './joinLedger.js';
import { createCallRequest } from './joinRequest.js';
import { scheduleRejoin, type RejoinDeps } from './rejoin.js';

export interface JoinDeps extends RejoinDeps {
  store: CallStore;
  graph: GraphCalls;
  joinLedger: JoinLedger;
  callbackUrl: string;
  clock: () => Date;
  log: Logger;
}

export type JoinOutcome =
  | { kind: 'joined'; callId: string; state: string }
  /** Graph may or may not have made the call; if it did, its first notification adopts it. */
  | { kind: 'pending'; joinId: string; status: number | undefined; message: string }
  /** `status` is the HTTP status to answer the caller with; code and message are Graph's when it refused. */
  | { kind: 'failed'; status: number; code: string; message: string };

/** Links a rejoin to the call it replaces. */
export interface RejoinOf {
  rejoinedFrom: string;
  rejoinAttempts: number;
}

// A pending join older than this no longer adopts calls: Graph's first notifications for a call it
// made arrive within seconds, and a late one is more likely about a call that has since ended.
export const PENDING_JOIN_ADOPTION_MINUTES = 10;

/**
 * Joins a meeting. The join is written to the ledger before `POST /communications/calls` is sent,
 * with its id in the callback URL, so no call Graph makes for it can go untracked: when the create
 * answers, the row is stored with the join information (to rejoin with); when its outcome is unknown
 * (no answer, a 5xx, a 408), the call's own notifications adopt it. Only a clear refusal leaves nothing.
 */
export async function joinMeeting(joinInfo: JoinInfo, deps: JoinDeps, rejoinOf?: RejoinOf): Promise<JoinOutcome> {
  const { graph, joinLedger, callbackUrl, clock, log } = deps;
  const meeting = describeMeeting(joinInfo);
  const join: PendingJoin = { joinId: randomUUID(), joinInfo, requestedAt: clock(), stage: 'creating', ...rejoinOf };
  try {
    await joinLedger.open(join);
  } catch (error) {
    // Nothing was asked of Graph, so nothing is left behind.
    const reason = error instanceof Error ? error.message : String(error);
    log.error(`Joining ${meeting}: not asked of Graph, the join could not be recorded (${reason})`);
    return { kind: 'failed', status: 503, code: 'CallStoreUnavailable', message: `The join could not be recorded: ${reason}` };
  }
  const created = await graph.create(createCallRequest(joinInfo, callbackUrlForJoin(callbackUrl, join.joinId)));
  if (!created.ok) return createFailed(join, meeting, created, deps);

  const { id: callId, myParticipantId } = created.call;
  const state = isCallState(created.call.state) ? created.call.state : 'establishing';
  try {
    const tracked = await trackJoinedCall(callId, state, join, deps, myParticipantId);
    await settleAfterTracking(callId, join.joinId, deps);
    log.info(`Call ${callId}: joining ${meeting}${tracked === 'exists' ? ' (its first notification had already adopted it)' : ''}`);
    return { kind: 'joined', callId, state };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // An untracked call would get no keepAlive: end it. If even that fails, the ledger entry stays,
    // so the call's next notification adopts it.
    const hungUp = await graph.hangUp(callId);
    log.error(
      `Call ${callId}: joined ${meeting} but could not store it (${reason}); ` +
        (hungUp.ok || hungUp.status === 404 ? 'hung up' : `hang-up failed too (${hungUp.status ?? 'no response'}); join ${join.joinId} adopts it on its next notification`),
    );
    return { kind: 'failed', status: 503, code: 'CallStoreUnavailable', message: `The call could not be recorded: ${reason}` };
  }
}

async function createFailed(join: PendingJoin, meeting: string, created: GraphFailure, { joinLedger, log }: JoinDeps): Promise<JoinOutcome> {
  const detail = `Graph ${created.status ?? 'no response'} ${created.code ?? ''}: ${created.message}`;
  if (createRefused(created.status)) {
    log.warn(`Joining ${meeting} failed (${detail})`);
    await closeQuietly(join.joinId, joinLedger, log);
    return { kind: 'failed', status: statusForCaller(created.status), code: created.code ?? 'GraphUnavailable', message: created.message };
  }
  // Create is not idempotent: it is not sent again. The ledger entry now waits for the call's notifications.
  await joinLedger.update(join.joinId, () => ({ stage: 'unknown' })).catch((error: unknown) =>
    log.warn(`Join ${join.joinId}: could not mark its outcome unknown (${String(error)}); it adopts its call all the same`),
  );
  log.error(
    `Joining ${meeting}: the create's outcome is unknown (${detail}); not sent again. ` +
      `If Graph made the call, its first notification adopts it (join ${join.joinId})`,
  );
  return { kind: 'pending', joinId: join.joinId, status: created.status, message: created.message };
}

/** Graph said no for certain: a 4xx other than a timeout (a 429 means it did nothing). */
function createRefused(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408;
}

/** The row of a call a join made, with what a rejoin needs. `exists` when it was already adopted. */
export async function trackJoinedCall(
  callId: string,
  state: CallState,
  join: Pick<PendingJoin, 'joinId' | 'joinInfo' | 'rejoinedFrom' | 'rejoinAttempts'>,
  { store, clock }: Pick<JoinDeps, 'store' | 'clock'>,
  myParticipantId?: string,
): Promise<'inserted' | 'exists'> {
  const { joinInfo } = join;
  const inserted = await store.insert({
    callId,
    state,
    createdAt: clock(),
    keepAliveFailures: 0,
    direction: 'outgoing',
    tenantId: joinInfo.tenantId,
    chatInfo: joinInfo.chatInfo,
    meetingInfo: joinInfo.meetingInfo,
    joinInfo,
    myParticipantId,
    rejoinAttempts: join.rejoinAttempts,
    rejoinedFrom: join.rejoinedFrom,
  });
  if (inserted === 'exists' && myParticipantId !== undefined) {
    await store.update(callId, (current) => (current.myParticipantId === undefined ? { myParticipantId } : undefined));
  }
  return inserted;
}

/**
 * After the row is stored: if the call's termination came first (it was kept on the ledger), the
 * call is already over, so its row goes and the end is handled now. Then the ledger entry closes.
 */
async function settleAfterTracking(callId: string, joinId: string, deps: JoinDeps): Promise<void> {
  const { store, joinLedger, log } = deps;
  const pending = await joinLedger.get(joinId);
  if (pending?.ended?.callId === callId) {
    const call = await store.get(callId);
    if ((await store.remove(callId)) === 'removed') {
      log.warn(`Call ${callId}: ended before its join was recorded (resultInfo ${pending.ended.resultInfo?.code ?? '-'}/${pending.ended.resultInfo?.subcode ?? '-'}); removed`);
      if (call) await scheduleRejoin(call, pending.ended.resultInfo, deps);
    }
  }
  await closeQuietly(joinId, joinLedger, log);
}

async function closeQuietly(joinId: string, joinLedger: JoinLedger, log: Logger): Promise<void> {
  // A leftover entry only lets a late notification adopt the call for PENDING_JOIN_ADOPTION_MINUTES;
  // a call adopted after it ended answers its first keepAlive with 404 and its row goes.
  await joinLedger.close(joinId).catch((error: unknown) => log.warn(`Join ${joinId}: ledger entry not closed (${String(error)})`));
}

export function describeMeeting(joinInfo: JoinInfo): string {
  const threadId = joinInfo.chatInfo?.['threadId'];
  if (typeof threadId === 'string') return `meeting ${threadId}`;
  const joinMeetingId = joinInfo.meetingInfo['joinMeetingId'];
  return typeof joinMeetingId === 'string' ? `meeting id ${joinMeetingId}` : 'meeting';
}
