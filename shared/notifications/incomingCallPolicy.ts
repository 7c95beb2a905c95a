import type { RejectReason } from '../graph/graphCalls.js';

export interface IncomingCallPolicy {
  /** Lower-case tenant ids; empty = any tenant. */
  allowedTenantIds: readonly string[];
  /** 0 = no limit. */
  maxActiveCalls: number;
  policyRecordingParticipantCapacity: number;
}

export interface IncomingCallFacts {
  tenantId: string | undefined;
  policyRecording: boolean;
  /** Asked for only when a cap is set; undefined otherwise. */
  activeCalls: number | undefined;
}

export type IncomingCallDecision =
  | { kind: 'answer'; participantCapacity: number | undefined; deadlineMs: number | undefined }
  | { kind: 'reject'; reason: RejectReason; why: string; deadlineMs: number | undefined };

// Graph gives the bot 15 s to answer a call, 5 s for a policy-based recording invitation
// (https://learn.microsoft.com/en-us/graph/api/call-answer), counted from the notification. The
// bot's own budgets leave room for the request to travel and for Graph's clock to differ.
export const POLICY_RECORDING_ANSWER_DEADLINE_MS = 4_000;
export const ANSWER_DEADLINE_MS = 12_000;

/** The time from a notification's arrival by which its answer (or reject) must have been sent. */
export function answerDeadlineMs(policyRecording: boolean): number {
  return policyRecording ? POLICY_RECORDING_ANSWER_DEADLINE_MS : ANSWER_DEADLINE_MS;
}

/** Whether the tenant allow-list lets this call in. Pure. */
export function tenantAllowed(tenantId: string | undefined, policy: Pick<IncomingCallPolicy, 'allowedTenantIds'>): boolean {
  if (policy.allowedTenantIds.length === 0) return true;
  return tenantId !== undefined && policy.allowedTenantIds.includes(tenantId.toLowerCase());
}

/** Answer or reject an incoming call, and how. Pure. */
export function decideIncomingCall(facts: IncomingCallFacts, policy: IncomingCallPolicy): IncomingCallDecision {
  // A reject is bound by the same window as an answer.
  const deadlineMs = facts.policyRecording ? POLICY_RECORDING_ANSWER_DEADLINE_MS : undefined;
  if (!tenantAllowed(facts.tenantId, policy)) {
    return { kind: 'reject', reason: 'forbidden', why: `tenant ${facts.tenantId ?? '(none)'} is not in ALLOWED_TENANT_IDS`, deadlineMs };
  }
  if (policy.maxActiveCalls > 0 && facts.activeCalls !== undefined && facts.activeCalls >= policy.maxActiveCalls) {
    return {
      kind: 'reject',
      reason: 'busy',
      why: `${facts.activeCalls} active calls, MAX_ACTIVE_CALLS is ${policy.maxActiveCalls}`,
      deadlineMs,
    };
  }
  if (facts.policyRecording) {
    return { kind: 'answer', participantCapacity: policy.policyRecordingParticipantCapacity, deadlineMs };
  }
  return { kind: 'answer', participantCapacity: undefined, deadlineMs };
}
