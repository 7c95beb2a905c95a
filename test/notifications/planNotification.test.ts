import { describe, expect, it } from 'vitest';
import { MAX_STORED_JSON_CHARS } from '../../shared/notifications/boundedJson.js';
import { commsNotificationSchema, parseNotification } from '../../shared/notifications/notificationSchema.js';
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

const plan = (notification: unknown) => planNotification(commsNotificationSchema.parse(notification));

/** An object `depth` levels deep: {"a": {"a": ... {"a": 1}}}. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let level = 1; level < depth; level++) value = { a: value };
  return value;
}

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
      dropped: [],
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
    expect(plan({ changeType: 'updated', resourceUrl: '/communications/calls/2f1a1100/participants', resourceData: participants })).toEqual(
      { ok: true, plan: { kind: 'roster', callId: '2f1a1100', participants }, dropped: [] },
    );
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

// Field logs: Graph sends null for absent optional fields, and enum values in other cases.
describe('bodies as Graph really sends them', () => {
  it.each(['source', 'direction', 'tenantId', 'chatInfo', 'meetingInfo', 'resultInfo', 'applicationMetadata', '@odata.type', 'id'])(
    'reads "%s": null as absent in an incoming call',
    (field) => {
      const result = plan({
        '@odata.type': null,
        changeType: 'created',
        resourceUrl: '/communications/calls/c1',
        resourceData: { state: 'incoming', direction: 'incoming', [field]: null },
      });
      expect(result).toMatchObject({ ok: true, plan: { kind: 'answer', callId: 'c1', policyRecording: false } });
      if (result.ok && result.plan.kind === 'answer') {
        expect(Object.values(result.plan.details).every((value) => value !== null)).toBe(true);
      }
    },
  );

  it('reads a null resourceData as absent, and null resultInfo fields as absent', () => {
    expect(plan({ changeType: 'deleted', resourceUrl: '/communications/calls/c1', resourceData: null })).toMatchObject({
      ok: true,
      plan: { kind: 'end', resultInfo: undefined },
    });
    expect(
      plan({
        changeType: 'updated',
        resourceUrl: '/communications/calls/c1',
        resourceData: { state: 'terminated', resultInfo: { code: 200, subcode: null, message: null } },
      }),
    ).toEqual({
      ok: true,
      plan: { kind: 'end', callId: 'c1', resultInfo: { code: 200, subcode: undefined, message: undefined } },
      dropped: [],
    });
  });

  it.each([
    ['Updated', 'Established', { kind: 'updateState', state: 'established' }],
    ['UPDATED', 'transferaccepted', { kind: 'updateState', state: 'transferAccepted' }],
    ['Created', 'Incoming', { kind: 'answer' }],
    ['updated', 'Terminated', { kind: 'end' }],
    ['Deleted', undefined, { kind: 'end' }],
  ] as const)('reads changeType "%s" and state "%s" in their canonical spelling', (changeType, state, expected) => {
    const result = plan({ changeType, resourceUrl: '/communications/calls/c1', resourceData: state === undefined ? undefined : { state } });
    expect(result).toMatchObject({ ok: true, plan: expected });
  });

  it('reads direction in its canonical spelling, and keeps an unknown one as sent', () => {
    const direction = (value: string) => {
      const result = plan({
        changeType: 'created',
        resourceUrl: '/communications/calls/c1',
        resourceData: { state: 'incoming', direction: value },
      });
      return result.ok && result.plan.kind === 'answer' ? result.plan.details.direction : 'not planned';
    };
    expect(direction('Incoming')).toBe('incoming');
    expect(direction('sideways')).toBe('sideways');
  });

  it('still refuses a changeType that is no spelling of a known one', () => {
    expect(parseNotification({ changeType: 'moved', resourceUrl: '/communications/calls/c1' })).toEqual({
      ok: false,
      reason: expect.stringContaining('changeType'),
    });
  });
});

describe('call data too deep or too large to store', () => {
  it('drops a source nested 100,000 levels deep, names it, and still answers the call', () => {
    const result = plan({
      changeType: 'created',
      resourceUrl: '/communications/calls/c1',
      resourceData: { state: 'incoming', source: nested(100_000), chatInfo: { threadId: 't' } },
    });
    expect(result).toMatchObject({ ok: true, plan: { kind: 'answer', details: { source: undefined, chatInfo: { threadId: 't' } } } });
    expect(result.ok && result.dropped).toEqual([expect.stringMatching(/^source \(nested deeper than \d+ levels\)$/)]);
  });

  it('drops a meetingInfo too large for a Table Storage property, and a tenantId too long to be one', () => {
    const result = plan({
      changeType: 'updated',
      resourceUrl: '/communications/calls/c1',
      resourceData: { state: 'established', meetingInfo: { token: 'x'.repeat(MAX_STORED_JSON_CHARS) }, tenantId: 't'.repeat(10_000) },
    });
    expect(result).toMatchObject({ ok: true, plan: { kind: 'updateState', details: { meetingInfo: undefined, tenantId: undefined } } });
    expect(result.ok && result.dropped).toEqual([expect.stringMatching(/^tenantId /), expect.stringMatching(/^meetingInfo /)]);
  });

  it('keeps only the resultInfo fields the bot reads, so a deep one cannot break the log line', () => {
    const result = plan({
      changeType: 'deleted',
      resourceUrl: '/communications/calls/c1',
      resourceData: { state: 'terminated', resultInfo: { code: 408, subcode: 8537, message: 'm', extra: nested(100_000) } },
    });
    expect(result).toEqual({
      ok: true,
      plan: { kind: 'end', callId: 'c1', resultInfo: { code: 408, subcode: 8537, message: 'm' } },
      dropped: [],
    });
    expect(() => JSON.stringify(result)).not.toThrow();
  });
});

describe('participant joining notifications', () => {
  const joining = (call: unknown, type = '#microsoft.graph.participantJoiningNotification') => ({
    '@odata.type': '#microsoft.graph.commsNotification',
    changeType: 'created',
    resourceUrl: '/communications/calls/e71f0300-9c1f-4d99-b5f4-2722e877d497',
    resourceData: { '@odata.type': type, call },
  });

  it('plans an answer to the joining participant, with the tenant of its call', () => {
    expect(plan(joining({ '@odata.type': '#microsoft.graph.call', tenantId: '932899f8-2ea1-4604-8413-27bd2892079f' }))).toEqual({
      ok: true,
      plan: {
        kind: 'participantJoining',
        callId: 'e71f0300-9c1f-4d99-b5f4-2722e877d497',
        tenantId: '932899f8-2ea1-4604-8413-27bd2892079f',
      },
      dropped: [],
    });
  });

  it('knows the @odata.type in any case, and a call without a tenant', () => {
    expect(plan(joining({ '@odata.type': '#microsoft.graph.call' }, '#Microsoft.Graph.ParticipantJoiningNotification'))).toMatchObject({
      ok: true,
      plan: { kind: 'participantJoining', tenantId: undefined },
    });
    expect(plan(joining(null))).toMatchObject({ ok: true, plan: { kind: 'participantJoining', tenantId: undefined } });
  });

  it('refuses a joining notification whose call is not an object', () => {
    expect(plan(joining('nope'))).toEqual({ ok: false, reason: expect.stringContaining('resourceData.call') });
  });
});

describe('prompts and key presses', () => {
  // As https://learn.microsoft.com/en-us/graph/api/call-playprompt shows it ("Notification - operation completed").
  const operationCompleted = {
    '@odata.type': '#microsoft.graph.commsNotification',
    changeType: 'deleted',
    resourceUrl: '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/0FE0623FD62842EDB4BD8AC290072CC5',
    resourceData: {
      '@odata.type': '#microsoft.graph.playPromptOperation',
      '@odata.id': '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/0FE0623FD62842EDB4BD8AC290072CC5',
      '@odata.etag': 'W/"54451"',
      resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' },
      clientContext: '57dab8b1-894c-409a-b240-bd8beae78896',
      status: 'completed',
    },
  };

  it('reads a finished operation ("deleted") as an operation of the call its clientContext names, never as an end', () => {
    expect(plan(operationCompleted)).toEqual({
      ok: true,
      dropped: [],
      plan: {
        kind: 'operation',
        callId: '57dab8b1-894c-409a-b240-bd8beae78896',
        operationId: '0FE0623FD62842EDB4BD8AC290072CC5',
        operationType: '#microsoft.graph.playPromptOperation',
        status: 'completed',
        resultInfo: { code: 200, subcode: 0, message: 'Action completed successfully.' },
      },
    });
  });

  it('falls back to the resource URL when the operation carries no clientContext', () => {
    const { clientContext: _, ...data } = operationCompleted.resourceData;
    expect(plan({ ...operationCompleted, resourceData: data })).toMatchObject({
      plan: { kind: 'operation', callId: '57DAB8B1894C409AB240BD8BEAE78896' },
    });
  });

  it('reads toneInfo on a call update as a key press (https://learn.microsoft.com/en-us/graph/api/call-subscribetotone)', () => {
    expect(
      plan({
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType: 'updated',
        resourceUrl: '/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896',
        resourceData: {
          '@odata.type': '#microsoft.graph.call',
          state: 'established',
          toneInfo: { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: 1, tone: 'tone1' },
        },
      }),
    ).toMatchObject({ ok: true, plan: { kind: 'updateState', state: 'established', tone: { sequenceId: 1, tone: 'tone1' } } });
  });

  it('keeps the state update of a call notification whose toneInfo is malformed, and names the dropped key press', () => {
    const planned = plan({
      changeType: 'updated',
      resourceUrl: '/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896',
      resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established', toneInfo: { sequenceId: 'one', tone: 'tone1' } },
    });
    expect(planned).toMatchObject({ ok: true, plan: { kind: 'updateState', state: 'established', tone: undefined } });
    expect(planned.ok && planned.dropped[0]).toMatch(/^toneInfo \(sequenceId: /);
  });
});
