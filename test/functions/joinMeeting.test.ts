import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_TENANT_ID, stateNotification } from '../../tools/graphSimulator.js';
import { BOT_CALLBACK_URL, startHarness, type Harness } from '../support/harness.js';

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OID = '4b444206-207c-42f8-92a6-e332b41c88a2';
// The https://learn.microsoft.com/en-us/graph/api/resources/call's link, URL-encoded.
const SEED_LINK =
  'https://teams.microsoft.com/l/meetup-join/19%3ameeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%224b444206-207c-42f8-92a6-e332b41c88a2%22%7d';
const THREAD = '19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0' });
});
afterAll(() => h.stop());

interface Created {
  callId: string;
  state: string;
}

describe('POST /api/calls/join', () => {
  it('joins by a meetup-join link: the create-call body of the seed, 201 with the call id, and a row with the join information', async () => {
    const response = await h.join({ joinUrl: SEED_LINK });
    expect(response.status).toBe(201);
    const { callId, state } = response.jsonBody as Created;
    expect(state).toBe('establishing');
    expect(response.headers).toEqual({ location: `/api/calls/${callId}` });

    const creates = h.sim.requestsTo('create');
    expect(creates.at(-1)!.body).toEqual({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: expect.stringMatching(new RegExp(`^${BOT_CALLBACK_URL}\\?joinId=[0-9a-f-]{36}$`)),
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      chatInfo: { '@odata.type': '#microsoft.graph.chatInfo', threadId: THREAD, messageId: '0' },
      meetingInfo: {
        '@odata.type': '#microsoft.graph.organizerMeetingInfo',
        organizer: {
          '@odata.type': '#microsoft.graph.identitySet',
          user: { '@odata.type': '#microsoft.graph.identity', id: OID, tenantId: TID },
        },
        allowConversationWithoutHost: true,
      },
      tenantId: TID,
    });
    expect(h.sim.calls.get(callId)).toBeDefined();

    const row = await h.runtime.store.get(callId);
    expect(row).toMatchObject({ state: 'establishing', direction: 'outgoing', tenantId: TID, keepAliveFailures: 0 });
    const sent = creates.at(-1)!.body as Record<string, unknown>;
    expect(row!.joinInfo).toEqual({ chatInfo: sent['chatInfo'], meetingInfo: sent['meetingInfo'], tenantId: TID });
    expect(row!.myParticipantId).toBe(h.sim.calls.get(callId)!.myParticipantId);
  });

  it.each([
    [
      'a short link',
      { joinUrl: 'https://teams.microsoft.com/meet/2345678901234?p=Ab12Cd34' },
      { joinMeetingId: '2345678901234', passcode: 'Ab12Cd34' },
      SIM_TENANT_ID,
    ],
    [
      'joinMeetingId, passcode and tenantId',
      { joinMeetingId: '1234567', passcode: 'psw123', tenantId: TID },
      { joinMeetingId: '1234567', passcode: 'psw123' },
      TID,
    ],
  ])('joins by %s with joinMeetingIdMeetingInfo', async (_name, body, meeting, tenantId) => {
    const response = await h.join(body);
    expect(response.status).toBe(201);
    const { callId } = response.jsonBody as Created;
    const sent = h.sim.calls.get(callId)!.body!;
    expect(sent['meetingInfo']).toEqual({ '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', ...meeting });
    expect(sent['tenantId']).toBe(tenantId);
    expect(sent['chatInfo']).toBeUndefined();
    expect((await h.runtime.store.get(callId))!.joinInfo).toMatchObject({ tenantId, meetingInfo: meeting });
  });

  it.each([
    ['an empty body', '', 'body is empty'],
    ['malformed JSON', '{"joinUrl": ', 'body is not valid JSON'],
    [
      'another host',
      { joinUrl: SEED_LINK.replace('teams.microsoft.com', 'evil.example.com') },
      'joinUrl host "evil.example.com" is not Teams',
    ],
    [
      'a link without Tid',
      { joinUrl: 'https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%22Oid%22%3a%22x%22%7d' },
      'joinUrl context has no Tid',
    ],
    ['garbage', { joinUrl: 'hello' }, 'joinUrl is not an absolute URL'],
    ['neither form', { passcode: 'x' }, 'joinUrl or joinMeetingId is required'],
  ])('answers 400 to %s, saying what is wrong, and asks Graph nothing', async (_name, body, reason) => {
    const before = h.sim.requestsTo('create').length;
    const response = await h.join(body);
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({ error: { code: 'BadRequest', message: expect.stringContaining(reason) } });
    expect(h.sim.requestsTo('create')).toHaveLength(before);
  });

  it.each([
    [403, 'Forbidden', 'Application is not authorized to join this meeting', 403],
    [404, 'MeetingNotFound', 'The meeting does not exist', 404],
    [400, 'BadRequest', 'The meeting link is malformed', 400],
    [401, 'InvalidAuthenticationToken', 'Access token has expired', 502],
  ])("passes Graph's %i %s back with a matching status, and keeps no row", async (graphStatus, code, message, status) => {
    h.sim.failNext('create', { status: graphStatus, code, message, times: 1 });
    const rowsBefore = await countRows();
    const response = await h.join({ joinMeetingId: '1234567' });
    expect(response.status).toBe(status);
    expect(response.jsonBody).toEqual({ error: { code, message } });
    expect(await countRows()).toBe(rowsBefore);
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: expect.stringContaining(`Joining meeting id 1234567 failed (Graph ${graphStatus} ${code}`),
    });
  });

  it('tracks a joined call like any other: state notifications move it and the sweep keeps it alive', async () => {
    const { callId } = (await h.join({ joinUrl: SEED_LINK })).jsonBody as Created;
    await h.sim.notify(stateNotification(callId, 'established'));
    expect((await h.runtime.store.get(callId))!.state).toBe('established');
    await h.sweep();
    expect(h.sim.requestsTo('keepAlive', callId).map((r) => r.status)).toEqual([200]);
  });
});

async function countRows(): Promise<number> {
  return h.runtime.store.countActive();
}
