import * as z from '../schema.js';
import type { JoinInfo } from '../calls/callStore.js';
import type { CreateCallRequest } from '../graph/graphCalls.js';
import { parseJoinUrl, type MeetingTarget } from './joinUrl.js';

/**
 * The body of `POST /api/calls/join`, turned into the chatInfo/meetingInfo/tenantId Graph needs.
 * Pure: every 400 reason is decided here.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const joinBodySchema = z.strictObject({
  joinUrl: z.optional(z.string().check(z.trim(), z.minLength(1, { error: 'must not be empty' }))),
  joinMeetingId: z.optional(
    z.pipe(
      z.pipe(
        z.union([z.string(), z.int().check(z.nonnegative())]),
        z.transform((value: string | number) => String(value).replace(/\s+/g, '')),
      ),
      z.string().check(z.regex(/^\d{6,20}$/, { error: 'must be 6 to 20 digits' })),
    ),
  ),
  passcode: z.optional(z.string().check(z.trim(), z.minLength(1, { error: 'must not be empty' }))),
  tenantId: z.optional(z.string().check(z.trim(), z.regex(GUID, { error: 'must be a tenant id (GUID)' }))),
});

export type JoinRequestResult = { ok: true; joinInfo: JoinInfo } | { ok: false; reason: string };

/** `defaultTenantId` (BOT_TENANT_ID) is used for a join meeting id when the body names no tenant. */
export function parseJoinRequest(body: unknown, defaultTenantId: string): JoinRequestResult {
  const parsed = joinBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      return fail(
        `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; expected joinUrl, or joinMeetingId with passcode and tenantId`,
      );
    }
    if (issue && issue.path.length === 0) return fail('body must be a JSON object');
    return fail(`${issue?.path.join('.') ?? 'body'} ${issue?.message ?? 'is invalid'}`);
  }
  const { joinUrl, joinMeetingId, passcode, tenantId } = parsed.data;
  if (joinUrl !== undefined && joinMeetingId !== undefined) return fail('give either joinUrl or joinMeetingId, not both');
  if (joinUrl === undefined && joinMeetingId === undefined) return fail('joinUrl or joinMeetingId is required');

  if (joinMeetingId !== undefined) {
    return { ok: true, joinInfo: joinInfoOf({ kind: 'joinMeetingId', joinMeetingId, passcode }, tenantId ?? defaultTenantId) };
  }
  const link = parseJoinUrl(joinUrl!);
  if (!link.ok) return link;
  const meeting = link.meeting;
  if (meeting.kind === 'organizer') {
    if (passcode !== undefined) return fail('passcode goes with a joinMeetingId or a /meet/ link, not a meetup-join link');
    if (tenantId !== undefined && tenantId.toLowerCase() !== meeting.tenantId.toLowerCase()) {
      return fail(`tenantId ${tenantId} does not match the link's tenant (Tid) ${meeting.tenantId}`);
    }
    return { ok: true, joinInfo: joinInfoOf(meeting, meeting.tenantId) };
  }
  return {
    ok: true,
    joinInfo: joinInfoOf({ ...meeting, passcode: meeting.passcode ?? passcode }, tenantId ?? defaultTenantId),
  };
}

/** The chatInfo/meetingInfo shapes of create-call (https://learn.microsoft.com/en-us/graph/api/application-post-calls, "Join scheduled meeting", examples 7 and 8). */
export function joinInfoOf(meeting: MeetingTarget, tenantId: string): JoinInfo {
  if (meeting.kind === 'joinMeetingId') {
    return {
      meetingInfo: {
        '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo',
        joinMeetingId: meeting.joinMeetingId,
        ...(meeting.passcode === undefined ? {} : { passcode: meeting.passcode }),
      },
      tenantId,
    };
  }
  return {
    chatInfo: {
      '@odata.type': '#microsoft.graph.chatInfo',
      threadId: meeting.threadId,
      messageId: meeting.messageId,
      ...(meeting.replyChainMessageId === undefined ? {} : { replyChainMessageId: meeting.replyChainMessageId }),
    },
    meetingInfo: {
      '@odata.type': '#microsoft.graph.organizerMeetingInfo',
      organizer: {
        '@odata.type': '#microsoft.graph.identitySet',
        user: { '@odata.type': '#microsoft.graph.identity', id: meeting.organizerId, tenantId: meeting.tenantId },
      },
      // As in the create-call documentation: the bot may stay in the meeting before the organizer arrives.
      allowConversationWithoutHost: true,
    },
    tenantId,
  };
}

/** `POST /communications/calls` to join a meeting with service-hosted media, audio only. */
export function createCallRequest(joinInfo: JoinInfo, callbackUrl: string): CreateCallRequest {
  return {
    '@odata.type': '#microsoft.graph.call',
    callbackUri: callbackUrl,
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    ...(joinInfo.chatInfo === undefined ? {} : { chatInfo: joinInfo.chatInfo }),
    meetingInfo: joinInfo.meetingInfo,
    tenantId: joinInfo.tenantId,
  };
}

function fail(reason: string): JoinRequestResult {
  return { ok: false, reason };
}
