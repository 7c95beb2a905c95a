import { describe, expect, it } from 'vitest';
import { createCallRequest, parseJoinRequest } from '../../shared/meetings/joinRequest.js';

const BOT_TENANT = '11111111-2222-3333-4444-555555555555';
const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OID = '4b444206-207c-42f8-92a6-e332b41c88a2';
const LINK = `https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=${encodeURIComponent(JSON.stringify({ Tid: TID, Oid: OID }))}`;

describe('parseJoinRequest', () => {
  it('turns a meetup-join link into the chatInfo and organizerMeetingInfo of the create-call doc, in the meeting tenant', () => {
    expect(parseJoinRequest({ joinUrl: LINK }, BOT_TENANT)).toEqual({
      ok: true,
      joinInfo: {
        chatInfo: { '@odata.type': '#microsoft.graph.chatInfo', threadId: '19:meeting_abc@thread.v2', messageId: '0' },
        meetingInfo: {
          '@odata.type': '#microsoft.graph.organizerMeetingInfo',
          organizer: {
            '@odata.type': '#microsoft.graph.identitySet',
            user: { '@odata.type': '#microsoft.graph.identity', id: OID, tenantId: TID },
          },
          allowConversationWithoutHost: true,
        },
        tenantId: TID,
      },
    });
  });

  it.each([
    [
      'a short link, tenant from BOT_TENANT_ID',
      { joinUrl: 'https://teams.microsoft.com/meet/1234567?p=psw123' },
      { joinMeetingId: '1234567', passcode: 'psw123' },
      BOT_TENANT,
    ],
    [
      'a short link, tenant from the body',
      { joinUrl: 'https://teams.microsoft.com/meet/1234567?p=psw123', tenantId: TID },
      { joinMeetingId: '1234567', passcode: 'psw123' },
      TID,
    ],
    [
      'a short link, passcode from the body',
      { joinUrl: 'https://teams.microsoft.com/meet/1234567', passcode: 'psw123' },
      { joinMeetingId: '1234567', passcode: 'psw123' },
      BOT_TENANT,
    ],
    [
      'joinMeetingId with passcode and tenant (create-call doc, example 7)',
      { joinMeetingId: '1234567', passcode: 'psw123', tenantId: TID },
      { joinMeetingId: '1234567', passcode: 'psw123' },
      TID,
    ],
    ['joinMeetingId alone (create-call doc, example 8)', { joinMeetingId: '1234567' }, { joinMeetingId: '1234567' }, BOT_TENANT],
    ['joinMeetingId with spaces, as Teams shows it', { joinMeetingId: '123 456 789 012' }, { joinMeetingId: '123456789012' }, BOT_TENANT],
    ['joinMeetingId as a JSON number', { joinMeetingId: 1234567 }, { joinMeetingId: '1234567' }, BOT_TENANT],
  ])('%s', (_name, body, meeting, tenantId) => {
    const result = parseJoinRequest(body, BOT_TENANT);
    expect(result).toEqual({
      ok: true,
      joinInfo: { meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', ...meeting }, tenantId },
    });
  });

  it.each([
    ['not an object', 'join', 'body must be a JSON object'],
    ['an empty object', {}, 'joinUrl or joinMeetingId is required'],
    ['both forms', { joinUrl: LINK, joinMeetingId: '1234567' }, 'give either joinUrl or joinMeetingId, not both'],
    ['a misspelt field', { joinURL: LINK }, 'unknown field "joinURL"'],
    ['an empty link', { joinUrl: ' ' }, 'joinUrl must not be empty'],
    ['a bad link', { joinUrl: 'https://example.com/x' }, 'joinUrl host "example.com" is not Teams'],
    ['a joinMeetingId with letters', { joinMeetingId: 'abc' }, 'joinMeetingId must be 6 to 20 digits'],
    ['a tenantId that is not a GUID', { joinMeetingId: '1234567', tenantId: 'contoso' }, 'tenantId must be a tenant id (GUID)'],
    ['a tenantId that contradicts the link', { joinUrl: LINK, tenantId: BOT_TENANT }, "does not match the link's tenant"],
    ['a passcode with a meetup-join link', { joinUrl: LINK, passcode: 'x' }, 'passcode goes with a joinMeetingId'],
  ])('refuses %s', (_name, body, reason) => {
    const result = parseJoinRequest(body, BOT_TENANT);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});

describe('createCallRequest', () => {
  it('asks for service-hosted audio with the callback URL, and carries the join information as given', () => {
    const parsed = parseJoinRequest({ joinUrl: LINK }, BOT_TENANT);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(createCallRequest(parsed.joinInfo, 'https://bot.example.test/api/calls')).toEqual({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: 'https://bot.example.test/api/calls',
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      chatInfo: parsed.joinInfo.chatInfo,
      meetingInfo: parsed.joinInfo.meetingInfo,
      tenantId: TID,
    });
  });
});
