import type { CallChange, CallStore, StoredCall } from '../calls/callStore.js';
import type { Logger } from '../logger.js';
import { logSafe } from '../logSafe.js';
import { tenantAllowed, type IncomingCallPolicy } from './incomingCallPolicy.js';

// A policy-based recording call answered with `participantCapacity` receives later participants of
// the same policy group as participantJoiningNotifications instead of new incoming calls, until it
// handles that many (https://learn.microsoft.com/en-us/graph/api/call-answer, example 3). Graph
// expects a participantJoiningResponse in the body of the response to each
// (https://learn.microsoft.com/en-us/graph/api/resources/participantjoiningnotification).

/**
 * The derived types of participantJoiningResponse
 * (https://learn.microsoft.com/en-us/graph/api/resources/participantjoiningresponse):
 * accept (https://learn.microsoft.com/en-us/graph/api/resources/acceptjoinresponse), reject with
 * a rejectReason (https://learn.microsoft.com/en-us/graph/api/resources/rejectjoinresponse), or
 * have the participant sent again as an incoming call notification to `inviteUri`
 * (https://learn.microsoft.com/en-us/graph/api/resources/invitenewbotresponse).
 */
export type ParticipantJoiningResponse =
  | { '@odata.type': '#microsoft.graph.acceptJoinResponse' }
  | { '@odata.type': '#microsoft.graph.rejectJoinResponse'; reason: 'busy' | 'forbidden' }
  | { '@odata.type': '#microsoft.graph.inviteNewBotResponse'; inviteUri: string };

export const acceptJoin = (): ParticipantJoiningResponse => ({ '@odata.type': '#microsoft.graph.acceptJoinResponse' });
export const rejectJoin = (reason: 'busy' | 'forbidden'): ParticipantJoiningResponse => ({
  '@odata.type': '#microsoft.graph.rejectJoinResponse',
  reason,
});
export const inviteNewBot = (inviteUri: string): ParticipantJoiningResponse => ({
  '@odata.type': '#microsoft.graph.inviteNewBotResponse',
  inviteUri,
});

export type JoinDecision = { kind: 'accept'; handled: number } | { kind: 'busy'; handled: number };

/**
 * Whether a recording call that handles `handled` participants (absent = only the invitation it
 * answered) takes one more under `capacity`, and how many it then handles. Pure.
 */
export function joinDecision(handled: number | undefined, capacity: number): JoinDecision {
  const now = handled ?? 1;
  return now < capacity ? { kind: 'accept', handled: now + 1 } : { kind: 'busy', handled: now };
}

export type ParticipantJoinOutcome = 'joinAccepted' | 'joinRejected' | 'newBotInvited';

export interface JoinDeps {
  store: CallStore;
  callbackUrl: string;
  log: Logger;
  policy: IncomingCallPolicy;
}

/**
 * Decides a participantJoiningNotification for the recording call `callId`. The tenant comes
 * first (the incoming-call policy's allow-list); then the row's count, raised under its ETag so
 * two instances never both take the last place. A call this bot does not track (ended, or answered
 * elsewhere) asks Graph to send the participant as a new incoming call, where the policy applies
 * afresh. A storage failure throws: the caller answers 5xx and Graph delivers again.
 */
export async function answerParticipantJoining(
  callId: string,
  tenantId: string | undefined,
  { store, callbackUrl, log, policy }: JoinDeps,
): Promise<{ outcome: ParticipantJoinOutcome; response: ParticipantJoiningResponse }> {
  if (!tenantAllowed(tenantId, policy)) {
    log.info(
      `Call ${callId}: joining participant rejected (forbidden): tenant ${tenantId === undefined ? '(none)' : logSafe(tenantId)} is not in ALLOWED_TENANT_IDS`,
    );
    return { outcome: 'joinRejected', response: rejectJoin('forbidden') };
  }
  const capacity = policy.policyRecordingParticipantCapacity;
  let decision: JoinDecision | undefined;
  const result = await store.update(callId, (current: StoredCall): CallChange | undefined => {
    decision = joinDecision(current.handledParticipants, capacity);
    return decision.kind === 'accept' ? { handledParticipants: decision.handled } : undefined;
  });
  if (result.outcome === 'missing' || decision === undefined) {
    log.info(`Call ${callId}: joining participant for a call that is not tracked; Graph is asked to send it as a new incoming call`);
    return { outcome: 'newBotInvited', response: inviteNewBot(callbackUrl) };
  }
  if (decision.kind === 'busy') {
    log.info(`Call ${callId}: joining participant rejected (busy): it handles ${decision.handled}, capacity ${capacity}`);
    return { outcome: 'joinRejected', response: rejectJoin('busy') };
  }
  log.info(`Call ${callId}: joining participant accepted (${decision.handled} of ${capacity})`);
  return { outcome: 'joinAccepted', response: acceptJoin() };
}
