import { isCallState } from '../calls/callState.js';
import type { CallStore, JoinInfo } from '../calls/callStore.js';
import { statusForCaller, type GraphCalls } from '../graph/graphCalls.js';
import type { Logger } from '../logger.js';
import { createCallRequest } from './joinRequest.js';

export interface JoinDeps {
  store: CallStore;
  graph: GraphCalls;
  callbackUrl: string;
  clock: () => Date;
  log: Logger;
}

export type JoinOutcome =
  | { ok: true; callId: string; state: string }
  /** `status` is the HTTP status to answer the caller with; code and message are Graph's when it refused. */
  | { ok: false; status: number; code: string; message: string };

/** Links a rejoin to the call it replaces. */
export interface RejoinOf {
  rejoinedFrom: string;
  rejoinAttempts: number;
}

/**
 * Joins a meeting: `POST /communications/calls`, then stores the row with the join information
 * (so the meeting can be rejoined) before anything else can happen to it. Graph's refusal leaves no
 * row; a store failure hangs the new call up again, since an untracked call would get no keepAlive.
 */
export async function joinMeeting(joinInfo: JoinInfo, deps: JoinDeps, rejoinOf?: RejoinOf): Promise<JoinOutcome> {
  const { store, graph, callbackUrl, clock, log } = deps;
  const meeting = describeMeeting(joinInfo);
  const created = await graph.create(createCallRequest(joinInfo, callbackUrl));
  if (!created.ok) {
    const detail = `Graph ${created.status ?? 'no response'} ${created.code ?? ''}: ${created.message}`;
    log.warn(`Joining ${meeting} failed (${detail})`);
    return { ok: false, status: statusForCaller(created.status), code: created.code ?? 'GraphUnavailable', message: created.message };
  }
  const { id: callId, myParticipantId } = created.call;
  const state = isCallState(created.call.state) ? created.call.state : 'establishing';
  try {
    await store.insert({
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
      rejoinAttempts: rejoinOf?.rejoinAttempts,
      rejoinedFrom: rejoinOf?.rejoinedFrom,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log.error(`Call ${callId}: joined ${meeting} but could not store it (${reason}); hanging up`);
    await graph.hangUp(callId);
    return { ok: false, status: 503, code: 'CallStoreUnavailable', message: `The call could not be recorded: ${reason}` };
  }
  log.info(`Call ${callId}: joining ${meeting}`);
  return { ok: true, callId, state };
}

export function describeMeeting(joinInfo: JoinInfo): string {
  const threadId = joinInfo.chatInfo?.['threadId'];
  if (typeof threadId === 'string') return `meeting ${threadId}`;
  const joinMeetingId = joinInfo.meetingInfo['joinMeetingId'];
  return typeof joinMeetingId === 'string' ? `meeting id ${joinMeetingId}` : 'meeting';
}
