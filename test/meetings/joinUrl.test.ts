import { describe, expect, it } from 'vitest';
import { parseJoinUrl } from '../../shared/meetings/joinUrl.js';

// The two forms of one link, exactly as the https://learn.microsoft.com/en-us/graph/api/resources/call shows them.
const SEED_ENCODED =
  'https://teams.microsoft.com/l/meetup-join/19%3ameeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%224b444206-207c-42f8-92a6-e332b41c88a2%22%7d';
const SEED_DECODED =
  'https://teams.microsoft.com/l/meetup-join/19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2/0?context={"Tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","Oid":"4b444206-207c-42f8-92a6-e332b41c88a2"}';

const SEED_MEETING = {
  kind: 'organizer',
  threadId: '19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2',
  messageId: '0',
  replyChainMessageId: undefined,
  organizerId: '4b444206-207c-42f8-92a6-e332b41c88a2',
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
};

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OID = '4b444206-207c-42f8-92a6-e332b41c88a2';
const context = (fields: Record<string, unknown>) => encodeURIComponent(JSON.stringify(fields));

describe('parseJoinUrl: links that name a meeting', () => {
  it.each([
    ['the seed link, URL-encoded', SEED_ENCODED, SEED_MEETING],
    ['the seed link, decoded', SEED_DECODED, SEED_MEETING],
    ['the seed link with surrounding spaces', `  ${SEED_ENCODED}\n`, SEED_MEETING],
    ['the seed link with the extra parameters Teams appends', `${SEED_ENCODED}&anon=true&deeplinkId=abc`, SEED_MEETING],
    [
      'a channel meeting whose context carries MessageId',
      `https://teams.microsoft.com/l/meetup-join/19%3a8f3c1b2e4d5a4b6c9d0e1f2a3b4c5d6e%40thread.tacv2/1699999999999?context=${context({ Tid: TID, Oid: OID, MessageId: '1699999990000' })}`,
      {
        kind: 'organizer',
        threadId: '19:8f3c1b2e4d5a4b6c9d0e1f2a3b4c5d6e@thread.tacv2',
        messageId: '1699999999999',
        replyChainMessageId: '1699999990000',
        organizerId: OID,
        tenantId: TID,
      },
    ],
    [
      'a context encoded twice',
      `https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=${encodeURIComponent(context({ Tid: TID, Oid: OID }))}`,
      { kind: 'organizer', threadId: '19:meeting_abc@thread.v2', organizerId: OID, tenantId: TID },
    ],
    [
      'a US government cloud link',
      `https://gov.teams.microsoft.us/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=${context({ Tid: TID, Oid: OID })}`,
      { kind: 'organizer', threadId: '19:meeting_abc@thread.v2' },
    ],
    [
      'a link wrapped by Outlook Safe Links',
      `https://nam06.safelinks.protection.outlook.com/?url=${encodeURIComponent(SEED_ENCODED)}&data=05%7C01&reserved=0`,
      SEED_MEETING,
    ],
    [
      'the Teams web launcher form',
      `https://teams.microsoft.com/dl/launcher/launcher.html?url=${encodeURIComponent(`/_#/l/meetup-join/19:meeting_abc@thread.v2/0?context=${context({ Tid: TID, Oid: OID })}`)}&type=meetup-join&directDl=true`,
      { kind: 'organizer', threadId: '19:meeting_abc@thread.v2', organizerId: OID, tenantId: TID },
    ],
    [
      'the short link with a passcode',
      'https://teams.microsoft.com/meet/2345678901234?p=Ab12Cd34',
      { kind: 'joinMeetingId', joinMeetingId: '2345678901234', passcode: 'Ab12Cd34' },
    ],
    [
      'the short link without a passcode',
      'https://teams.microsoft.com/meet/1234567',
      { kind: 'joinMeetingId', joinMeetingId: '1234567', passcode: undefined },
    ],
  ])('%s', (_name, link, meeting) => {
    expect(parseJoinUrl(link)).toMatchObject({ ok: true, meeting });
  });
});

describe('parseJoinUrl: links that do not, and why', () => {
  it.each([
    ['garbage', 'not a link', 'joinUrl is not an absolute URL'],
    ['plain http', SEED_ENCODED.replace('https:', 'http:'), 'joinUrl must be an https link'],
    ['another host', SEED_ENCODED.replace('teams.microsoft.com', 'teams.example.com'), 'joinUrl host "teams.example.com" is not Teams'],
    ['a Teams page that is not a meeting', 'https://teams.microsoft.com/l/chat/0/0?users=a@b.c', 'is not a meeting link'],
    [
      'a link without context',
      'https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0',
      'joinUrl has no context parameter',
    ],
    [
      'a context without Tid',
      `https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=${context({ Oid: OID })}`,
      'joinUrl context has no Tid',
    ],
    [
      'a Tid that is not a GUID',
      `https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=${context({ Tid: 'contoso', Oid: OID })}`,
      'Tid must be a tenant id',
    ],
    [
      'a context without Oid',
      `https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=${context({ Tid: TID })}`,
      'joinUrl context has no Oid',
    ],
    [
      'a context that is not JSON',
      'https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7bTid',
      'joinUrl context is not a JSON object',
    ],
    [
      'a thread id that is not a meeting thread',
      `https://teams.microsoft.com/l/meetup-join/meeting_abc/0?context=${context({ Tid: TID, Oid: OID })}`,
      'does not name a meeting thread',
    ],
    [
      'a missing message id',
      `https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2?context=${context({ Tid: TID, Oid: OID })}`,
      '/l/meetup-join/<thread id>/<message id>',
    ],
    [
      'a message id that is not a number',
      `https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/x?context=${context({ Tid: TID, Oid: OID })}`,
      'message id must be a number',
    ],
    ['a short link with letters in the meeting id', 'https://teams.microsoft.com/meet/abc123?p=x', 'meeting id of 6 to 20 digits'],
    ['a consumer Teams link', 'https://teams.live.com/meet/1234567890', 'joinUrl host "teams.live.com" is not Teams'],
  ])('%s', (_name, link, reason) => {
    const result = parseJoinUrl(link);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});
