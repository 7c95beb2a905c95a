import { describe, expect, it } from 'vitest';
import { commsNotificationsSchema } from '../../shared/notifications/notificationSchema.js';
import { parseCallResource, planNotification } from '../../shared/notifications/planNotification.js';

// Shapes taken from the seeds (answer and create-call documents).
const seedPolicyRecordingIncoming = {
  '@odata.type': '#microsoft.graph.commsNotification',
  changeType: 'created',
  resource: '/app/calls/e71f0300-9c1f-4d99-b5f4-2722e877d497',
  resourceUrl: '/communications/calls/e71f0300-9c1f-4d99-b5f4-2722e877d497',
  resourceData: {
    '@odata.type': '#microsoft.graph.call',
    state: 'incoming',
    direction: 'incoming',
    meetingInfo: { '@odata.type': '#microsoft.graph.tokenMeetingInfo', token: 'join token' },
    tenantId: '932899f8-2ea1-4604-8413-27bd2892079f',
    id: 'e71f0300-9c1f-4d99-b5f4-2722e877d497',
    applicationMetadata: { botData: { inviteReasons: ['PolicyBasedRecording'] } },
  },
};

const plan = (notification: unknown) => {
  const batch = commsNotificationsSchema.parse({ value: [notification] });
  return planNotification(batch.value[0]!);
};

describe('parseCallResource', () => {
  it.each([
    ['/communications/calls/57DAB8B1894C409AB240BD8BEAE78896', '57DAB8B1894C409AB240BD8BEAE78896', undefined],
    ['/app/calls/e71f0300-9c1f-4d99-b5f4-2722e877d497', 'e71f0300-9c1f-4d99-b5f4-2722e877d497', undefined],
    ['/communications/calls/421f4c00/contentsharingsessions', '421f4c00', 'contentsharingsessions'],
    ['/communications/calls/421f4c00/participants/', '421f4c00', 'participants'],
    ['/communications/calls/421f4c00/operations/abc', '421f4c00', 'operations/abc'],
  ])('%s', (url, callId, subResource) => {
    expect(parseCallResource(url)).toEqual({ callId, subResource });
  });

  it.each(['/communications/calls/', '/communications/onlineMeetings/x', 'communications/calls/x', '/communications/calls/a#b'])(
    'rejects %s',
    (url) => expect(parseCallResource(url)).toBeUndefined(),
  );
});

describe('planNotification', () => {
  it('answers the seed incoming call, keeping the source', () => {
    const result = plan({
      changeType: 'created',
      resourceUrl: '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896',
      resourceData: { state: 'incoming', direction: 'incoming', source: { identity: { user: { id: 'u1' } } } },
    });
    expect(result).toEqual({
      ok: true,
      plan: {
        kind: 'answer',
        callId: '57DAB8B1894C409AB240BD8BEAE78896',
        details: {
          direction: 'incoming',
          tenantId: undefined,
          source: { identity: { user: { id: 'u1' } } },
          chatInfo: undefined,
          meetingInfo: undefined,
        },
        policyRecording: false,
      },
    });
  });

  it('answers a policy-based recording invitation, with its tenant and meeting token', () => {
    const result = plan(seedPolicyRecordingIncoming);
    expect(result).toMatchObject({
      ok: true,
      plan: {
        kind: 'answer',
        callId: 'e71f0300-9c1f-4d99-b5f4-2722e877d497',
        policyRecording: true,
        details: { tenantId: '932899f8-2ea1-4604-8413-27bd2892079f', meetingInfo: { token: 'join token' } },
      },
    });
  });

  it.each([
    ['updated establishing', 'updated', { state: 'establishing' }, { kind: 'updateState', state: 'establishing' }],
    ['updated established', 'updated', { state: 'established' }, { kind: 'updateState', state: 'established' }],
    ['updated terminated', 'updated', { state: 'terminated', resultInfo: { code: 200 } }, { kind: 'end', resultInfo: { code: 200 } }],
    ['deleted', 'deleted', { state: 'terminated' }, { kind: 'end' }],
    ['deleted without data', 'deleted', undefined, { kind: 'end', resultInfo: undefined }],
    ['a state the bot does not know', 'updated', { state: 'unknownFutureValue' }, { kind: 'ignore' }],
    ['no state', 'updated', { direction: 'outgoing' }, { kind: 'ignore', reason: 'call notification without a state' }],
    ['created incoming re-sent as updated', 'updated', { state: 'incoming' }, { kind: 'updateState', state: 'incoming' }],
  ] as const)('%s', (_name, changeType, resourceData, expected) => {
    const result = plan({ changeType, resourceUrl: '/communications/calls/c1', resourceData });
    expect(result).toMatchObject({ ok: true, plan: { callId: 'c1', ...expected } });
  });

  it('plans a roster update from the seed roster notification', () => {
    const participants = [{ '@odata.type': '#microsoft.graph.participant', id: 'p' }];
    expect(
      plan({ changeType: 'updated', resourceUrl: '/communications/calls/2f1a1100/participants', resourceData: participants }),
    ).toEqual({ ok: true, plan: { kind: 'roster', callId: '2f1a1100', participants } });
  });

  it.each([
    ['a participant deleted', 'deleted', '/communications/calls/c1/participants/p1', undefined],
    ['participants without a list', 'updated', '/communications/calls/c1/participants', { id: 'p1' }],
  ] as const)('ignores %s', (_name, changeType, resourceUrl, resourceData) => {
    expect(plan({ changeType, resourceUrl, resourceData })).toMatchObject({ ok: true, plan: { kind: 'ignore', callId: 'c1' } });
  });

  it('ignores content-sharing notifications', () => {
    expect(plan({ changeType: 'deleted', resourceUrl: '/communications/calls/421f4c00/contentsharingsessions/2765eb15' })).toMatchObject({
      ok: true,
      plan: { kind: 'ignore', reason: 'contentsharingsessions notifications are not handled' },
    });
  });

  it('refuses call data of the wrong shape', () => {
    expect(plan({ changeType: 'updated', resourceUrl: '/communications/calls/c1', resourceData: { state: 7 } })).toEqual({
      ok: false,
      reason: expect.stringContaining('resourceData.state'),
    });
  });
});
