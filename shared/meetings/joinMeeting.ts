import { createHash, randomUUID } from 'node:crypto';
import { isCallState, type CallState } from '../calls/callState.js';
import type { CallStore, JoinInfo } from '../calls/callStore.js';
import { statusForCaller, type GraphCalls, type GraphFailure } from '../graph/graphCalls.js';
import type { CallHistory } from '../history/callHistory.js';
import type { Logger } from '../logger.js';
import { callbackUrlForJoin } from './joinCorrelation.js';
import type { CallAsk, JoinLedger, PendingJoin } from './joinLedger.js';
import { describeOutgoing, type OutgoingCall } from '../outgoing/outgoingCall.js';
import { outgoingCallBody } from '../outgoing/outgoingCallBody.js';
import { pendingPrompt } from '../media/callMedia.js';
import { recordEndedCall } from '../history/recordEndedCall.js';
import { createCallRequest } from './joinRequest.js';
import { scheduleRejoin, type RejoinDeps } from './rejoin.js';
import type { RejoinAttempt } from './rejoinQueue.js';

export interface JoinDeps extends RejoinDeps {
  /** Where ended calls are recorded; absent: no history is kept. */
  history?: CallHistory | undefined;
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
  | { kind: 'failed'; status: number; code: string; message: string }
  /** This rejoin attempt was already made (its queue message came twice); `refusedStatus` when Graph refused it. */
  | { kind: 'duplicate'; joinId: string; refusedStatus: number | undefined };

/** Links a rejoin to the call it replaces. */
export interface RejoinOf {
  rejoinedFrom: string;
  rejoinAttempts: number;
}

// A pending join older than this no longer adopts calls: Graph's first notifications for a call it
// made arrive within seconds, and a late one is more likely about a call that has since ended. Its
// settle message comes a minute later (see `settlePendingJoin`).
export const PENDING_JOIN_ADOPTION_MINUTES = 10;
export const JOIN_SETTLE_DELAY_SECONDS = PENDING_JOIN_ADOPTION_MINUTES * 60 + 60;

/**
 * A rejoin attempt's join id is derived from the call it replaces and the attempt, so a queue
 * message delivered twice (queues deliver at least once) finds its attempt already on the ledger.
 */
export function rejoinJoinId(rejoinedFrom: string, attempt: number): string {
  const hex = createHash('sha256').update(`rejoin:${rejoinedFrom}:${attempt}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Joins a meeting. The join is written to the ledger (with a settle message due some minutes later)
 * before `POST /communications/calls` is sent, with its id in the callback URL, so no call Graph
 * makes for it can go untracked: when the create answers, the row is stored with the join
 * information (to rejoin with); when its outcome is unknown (no answer, a 5xx, a 408), the call's own
 * notifications adopt it, and if none come, the settle message concludes Graph made none. Only a
 * clear refusal leaves nothing. `next` is the rejoin attempt to make should this one prove to have
 * made no call.
 */
export function joinMeeting(joinInfo: JoinInfo, deps: JoinDeps, rejoinOf?: RejoinOf, next?: RejoinAttempt): Promise<JoinOutcome> {
  return createTrackedCall({ joinInfo }, deps, rejoinOf, next);
}

/** Places a call to people (`POST /api/calls/outgoing`) through the same safe create path as a join. */
export function placeCall(outgoing: OutgoingCall, deps: JoinDeps): Promise<JoinOutcome> {
  return createTrackedCall({ outgoing }, deps);
}

async function createTrackedCall(ask: CallAsk, deps: JoinDeps, rejoinOf?: RejoinOf, next?: RejoinAttempt): Promise<JoinOutcome> {
  const { graph, joinLedger, rejoinQueue, callbackUrl, clock, log } = deps;
  const meeting = describeAsk(ask);
  const joinId = rejoinOf ? rejoinJoinId(rejoinOf.rejoinedFrom, rejoinOf.rejoinAttempts) : randomUUID();
  const join: PendingJoin = { ...ask, joinId, requestedAt: clock(), stage: 'creating', claim: randomUUID(), ...rejoinOf };
  try {
    if ((await joinLedger.open(join)) === 'exists') {
      const existing = await joinLedger.get(joinId);
      if (existing?.claim !== join.claim) {
        log.warn(
          `Joining ${meeting}: rejoin attempt ${rejoinOf?.rejoinAttempts} of call ${rejoinOf?.rejoinedFrom} was already made (join ${joinId}); not repeated`,
        );
        return { kind: 'duplicate', joinId, refusedStatus: existing?.refusedStatus };
      }
      // Our own entry: the storage SDK repeated an insert whose response was lost.
    }
    await rejoinQueue.schedule({ kind: 'settleJoin', joinId, next }, JOIN_SETTLE_DELAY_SECONDS);
  } catch (error) {
    // Nothing was asked of Graph, so nothing is left behind (an entry without its settle message
    // adopts nothing after PENDING_JOIN_ADOPTION_MINUTES).
    const reason = error instanceof Error ? error.message : String(error);
    log.error(`Joining ${meeting}: not asked of Graph, the join could not be recorded (${reason})`);
    return { kind: 'failed', status: 503, code: 'CallStoreUnavailable', message: `The join could not be recorded: ${reason}` };
  }
  const callbackUri = callbackUrlForJoin(callbackUrl, joinId);
  const created = await graph.create(
    ask.joinInfo ? createCallRequest(ask.joinInfo, callbackUri) : outgoingCallBody(ask.outgoing, callbackUri),
  );
  if (!created.ok) return createFailed(join, meeting, created, deps);

  const { id: callId, myParticipantId } = created.call;
  const state = isCallState(created.call.state) ? created.call.state : 'establishing';
  let tracked: 'inserted' | 'exists';
  try {
    tracked = await trackJoinedCall(callId, state, join, deps, myParticipantId);
  } catch (error) {
    return untrackedCall(callId, join, meeting, error, deps);
  }
  // The row is there: the call is tracked, whatever goes wrong from here on.
  if (tracked === 'exists' && myParticipantId !== undefined) {
    await deps.store
      .update(callId, (current) => (current.myParticipantId === undefined ? { myParticipantId } : undefined))
      .catch((error: unknown) => log.warn(`Call ${callId}: its participant id was not recorded (${String(error)})`));
  }
  try {
    await settleAfterTracking(callId, joinId, deps);
  } catch (error) {
    log.error(`Call ${callId}: tracked, but its join ${joinId} was not settled (${String(error)}); its settle message finishes it`);
  }
  log.info(`Call ${callId}: joining ${meeting}${tracked === 'exists' ? ' (its first notification had already adopted it)' : ''}`);
  return { kind: 'joined', callId, state };
}

/**
 * Graph made the call but its row could not be stored. An untracked call would get no keepAlive,
 * so it is ended. If the hang-up fails too, the call lives: the join stays open (outcome unknown),
 * so the call's next notification adopts it, and the caller hears "pending", not "failed" (a
 * retry would put the bot in the meeting twice).
 */
async function untrackedCall(callId: string, join: PendingJoin, meeting: string, error: unknown, deps: JoinDeps): Promise<JoinOutcome> {
  const { graph, joinLedger, log } = deps;
  const reason = error instanceof Error ? error.message : String(error);
  const hungUp = await graph.hangUp(callId);
  if (hungUp.ok || hungUp.status === 404) {
    log.error(`Call ${callId}: joined ${meeting} but could not store it (${reason}); hung up`);
    await closeQuietly(join.joinId, joinLedger, log);
    return { kind: 'failed', status: 503, code: 'CallStoreUnavailable', message: `The call could not be recorded: ${reason}` };
  }
  await joinLedger
    .update(join.joinId, () => ({ stage: 'unknown', createdCallId: callId }))
    .catch((ledgerError: unknown) => log.error(`Join ${join.joinId}: call ${callId} not recorded on it either (${String(ledgerError)})`));
  log.error(
    `Call ${callId}: joined ${meeting} but could not store it (${reason}), and the hang-up failed ` +
      `(${hungUp.status ?? 'no response'}); join ${join.joinId} adopts the call on its next notification`,
  );
  return { kind: 'pending', joinId: join.joinId, status: 503, message: `The call ${callId} could not be recorded yet: ${reason}` };
}

async function createFailed(
  join: PendingJoin,
  meeting: string,
  created: GraphFailure,
  { joinLedger, log }: JoinDeps,
): Promise<JoinOutcome> {
  const detail = `Graph ${created.status ?? 'no response'} ${created.code ?? ''}: ${created.message}`;
  if (createRefused(created.status)) {
    log.warn(`Joining ${meeting} failed (${detail})`);
    // Closed with the refusal kept: a repeat of this rejoin's message can then go on to the next attempt.
    await joinLedger
      .update(join.joinId, () => ({ stage: 'closed', refusedStatus: created.status }))
      .catch((error: unknown) => log.warn(`Join ${join.joinId}: ledger entry not closed (${String(error)})`));
    return { kind: 'failed', status: statusForCaller(created.status), code: created.code ?? 'GraphUnavailable', message: created.message };
  }
  // Create is not idempotent: it is not sent again. The ledger entry now waits for the call's notifications.
  await joinLedger
    .update(join.joinId, () => ({ stage: 'unknown' }))
    .catch((error: unknown) =>
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

/** The row of a call a join made, with what a rejoin needs (or what a placed call plays). `exists` when it was already adopted. */
export async function trackJoinedCall(
  callId: string,
  state: CallState,
  join: Pick<PendingJoin, 'joinId' | 'joinInfo' | 'outgoing' | 'rejoinedFrom' | 'rejoinAttempts'>,
  { store, clock }: Pick<JoinDeps, 'store' | 'clock'>,
  myParticipantId?: string,
): Promise<'inserted' | 'exists'> {
  const common = { callId, state, createdAt: clock(), keepAliveFailures: 0, direction: 'outgoing', myParticipantId };
  if (join.outgoing) {
    return store.insert({
      ...common,
      tenantId: join.outgoing.tenantId,
      outgoing: join.outgoing,
      prompt: pendingPrompt(join.outgoing.prompt),
    });
  }
  const { joinInfo } = join;
  return store.insert({
    ...common,
    tenantId: joinInfo?.tenantId,
    chatInfo: joinInfo?.chatInfo,
    meetingInfo: joinInfo?.meetingInfo,
    joinInfo,
    rejoinAttempts: join.rejoinAttempts,
    rejoinedFrom: join.rejoinedFrom,
  });
}

/**
 * After the row is stored: if the call's termination came first (it was kept on the ledger), the
 * call is already over, so its row goes and the end is handled now. Then the ledger entry closes.
 */
async function settleAfterTracking(callId: string, joinId: string, deps: JoinDeps): Promise<void> {
  const { store, joinLedger, log } = deps;
  const pending = await joinLedger.get(joinId);
  const ended = pending?.ended;
  if (ended?.callId === callId) {
    const call = await store.get(callId);
    if (call) {
      await store.remove(callId);
      await recordEndedCall(call, { resultInfo: ended.resultInfo, endedBy: 'notification' }, deps);
      log.warn(
        `Call ${callId}: ended before its join was recorded (resultInfo ${ended.resultInfo?.code ?? '-'}/${ended.resultInfo?.subcode ?? '-'}); removed`,
      );
      // A termination that found the row (an adopted one) already dealt with the end.
      if (call && !ended.handled) {
        await scheduleRejoin(call, ended.resultInfo, deps);
        await joinLedger.update(joinId, (current) => (current.ended ? { ended: { ...current.ended, handled: true } } : undefined));
      }
    }
  }
  await joinLedger.close(joinId);
}

async function closeQuietly(joinId: string, joinLedger: JoinLedger, log: Logger): Promise<void> {
  // A leftover entry only lets a late notification adopt the call for PENDING_JOIN_ADOPTION_MINUTES;
  // a call adopted after it ended answers its first keepAlive with 404 and its row goes.
  await joinLedger.close(joinId).catch((error: unknown) => log.warn(`Join ${joinId}: ledger entry not closed (${String(error)})`));
}

/** A few words naming what a create asked for, for logs. */
export function describeAsk(ask: Pick<CallAsk, 'joinInfo' | 'outgoing'>): string {
  if (ask.outgoing) return describeOutgoing(ask.outgoing);
  return ask.joinInfo ? describeMeeting(ask.joinInfo) : 'call';
}

export function describeMeeting(joinInfo: JoinInfo): string {
  const threadId = joinInfo.chatInfo?.['threadId'];
  if (typeof threadId === 'string') return `meeting ${threadId}`;
  const joinMeetingId = joinInfo.meetingInfo['joinMeetingId'];
  return typeof joinMeetingId === 'string' ? `meeting id ${joinMeetingId}` : 'meeting';
}
