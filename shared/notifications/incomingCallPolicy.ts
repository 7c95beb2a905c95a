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

// The answer seed gives the bot 5 s to answer a policy-based recording invitation (15 s otherwise);
// leaving a second for the request to travel.
export const POLICY_RECORDING_ANSWER_DEADLINE_MS = 4_000;

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
    return { kind: 'reject', reason: 'busy', why: `${facts.activeCalls} active calls, MAX_ACTIVE_CALLS is ${policy.maxActiveCalls}`, deadlineMs };
  }
  if (facts.policyRecording) {
    return { kind: 'answer', participantCapacity: policy.policyRecordingParticipantCapacity, deadlineMs };
  }
  return { kind: 'answer', participantCapacity: undefined, deadlineMs };
}
