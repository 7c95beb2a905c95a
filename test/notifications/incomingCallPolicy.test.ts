import { describe, expect, it } from 'vitest';
import { decideIncomingCall, type IncomingCallPolicy } from '../../shared/notifications/incomingCallPolicy.js';

const A = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const B = 'aaaabbbb-0000-1111-2222-333344445555';
const open: IncomingCallPolicy = { allowedTenantIds: [], maxActiveCalls: 0, policyRecordingParticipantCapacity: 200 };
const strict: IncomingCallPolicy = { allowedTenantIds: [A], maxActiveCalls: 10, policyRecordingParticipantCapacity: 50 };

describe('decideIncomingCall', () => {
  it.each([
    [
      'any tenant, no cap',
      open,
      { tenantId: B, policyRecording: false, activeCalls: undefined },
      { kind: 'answer', participantCapacity: undefined, deadlineMs: undefined },
    ],
    [
      'an allowed tenant (case-insensitive)',
      strict,
      { tenantId: A.toUpperCase(), policyRecording: false, activeCalls: 3 },
      { kind: 'answer' },
    ],
    [
      'another tenant',
      strict,
      { tenantId: B, policyRecording: false, activeCalls: 3 },
      { kind: 'reject', reason: 'forbidden', why: `tenant ${B} is not in ALLOWED_TENANT_IDS` },
    ],
    [
      'no tenant at all under an allow-list',
      strict,
      { tenantId: undefined, policyRecording: false, activeCalls: 3 },
      { kind: 'reject', reason: 'forbidden' },
    ],
    ['one below the cap', strict, { tenantId: A, policyRecording: false, activeCalls: 9 }, { kind: 'answer' }],
    [
      'at the cap',
      strict,
      { tenantId: A, policyRecording: false, activeCalls: 10 },
      { kind: 'reject', reason: 'busy', why: '10 active calls, MAX_ACTIVE_CALLS is 10' },
    ],
    [
      'another tenant at the cap: refused for the tenant first',
      strict,
      { tenantId: B, policyRecording: false, activeCalls: 10 },
      { kind: 'reject', reason: 'forbidden' },
    ],
    [
      'policy-based recording',
      strict,
      { tenantId: A, policyRecording: true, activeCalls: 0 },
      { kind: 'answer', participantCapacity: 50, deadlineMs: 4000 },
    ],
    [
      'policy-based recording at the cap',
      strict,
      { tenantId: A, policyRecording: true, activeCalls: 10 },
      { kind: 'reject', reason: 'busy' },
    ],
  ] as const)('%s', (_name, policy, facts, decision) => {
    expect(decideIncomingCall(facts, policy)).toMatchObject(decision);
  });
});
