/**
 * What a Teams meeting link means to Graph's create call. Pure: no I/O.
 *
 * The call resource documentation (https://learn.microsoft.com/en-us/graph/api/resources/call) shows the long link both URL-encoded and decoded and says to "extract the
 * data from the URL ... to populate chatInfo and meetingInfo": the path holds the thread id and
 * message id, the `context` query parameter a JSON object with the tenant (`Tid`), the organizer
 * (`Oid`) and, for a meeting in a channel, the reply-chain message (`MessageId`).
 * The short `/meet/<id>?p=<passcode>` link maps to example 7 of https://learn.microsoft.com/en-us/graph/api/application-post-calls
 * (`joinMeetingIdMeetingInfo`).
 */

/** A meeting named by thread and organizer (https://learn.microsoft.com/en-us/graph/api/application-post-calls, "Join scheduled meeting"). */
export interface OrganizerMeeting {
  kind: 'organizer';
  threadId: string;
  messageId: string;
  replyChainMessageId: string | undefined;
  organizerId: string;
  tenantId: string;
}

/** A meeting named by its join meeting id (https://learn.microsoft.com/en-us/graph/api/application-post-calls, examples 7 and 8). */
export interface JoinMeetingIdMeeting {
  kind: 'joinMeetingId';
  joinMeetingId: string;
  passcode: string | undefined;
}

export type MeetingTarget = OrganizerMeeting | JoinMeetingIdMeeting;

export type JoinUrlResult = { ok: true; meeting: MeetingTarget } | { ok: false; reason: string };

// Teams in the public cloud and in the US government clouds.
export const TEAMS_HOSTS: readonly string[] = ['teams.microsoft.com', 'gov.teams.microsoft.us', 'dod.teams.microsoft.us'];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const THREAD_ID = /^19:[^\s/?#]+@thread\.(?:v2|tacv2|skype)$/i;
const MESSAGE_ID = /^\d+$/;
const JOIN_MEETING_ID = /^\d{6,20}$/;

export function parseJoinUrl(link: string): JoinUrlResult {
  const url = toUrl(link.trim());
  if (!url) return fail('joinUrl is not an absolute URL');
  return parseTeamsUrl(unwrap(url));
}

function parseTeamsUrl(url: URL): JoinUrlResult {
  if (url.protocol !== 'https:') return fail(`joinUrl must be an https link, got "${url.protocol}"`);
  const host = url.hostname.toLowerCase();
  if (!TEAMS_HOSTS.includes(host)) {
    return fail(`joinUrl host "${host}" is not Teams (expected ${TEAMS_HOSTS.join(', ')})`);
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const [first, second] = segments;
  if (first === 'l' && second === 'meetup-join') return parseMeetupJoin(url, segments.slice(2));
  if (first === 'meet') return parseMeetLink(url, segments.slice(1));
  return fail(
    `joinUrl path "${url.pathname}" is not a meeting link (expected /l/meetup-join/<thread id>/<message id>?context=... or /meet/<meeting id>?p=<passcode>)`,
  );
}

function parseMeetupJoin(url: URL, rest: string[]): JoinUrlResult {
  if (rest.length !== 2) return fail('joinUrl must be /l/meetup-join/<thread id>/<message id>');
  const threadId = decodeSegment(rest[0]!);
  const messageId = decodeSegment(rest[1]!);
  if (threadId === undefined || !THREAD_ID.test(threadId)) {
    return fail(`joinUrl does not name a meeting thread (19:...@thread.v2), got "${rest[0]}"`);
  }
  if (messageId === undefined || !MESSAGE_ID.test(messageId)) {
    return fail(`joinUrl message id must be a number, got "${rest[1]}"`);
  }
  const rawContext = url.searchParams.get('context');
  if (rawContext === null) return fail("joinUrl has no context parameter, so the meeting's tenant (Tid) is unknown");
  const context = parseContext(rawContext);
  if (!context) return fail('joinUrl context is not a JSON object');
  const tenantId = context['Tid'];
  if (typeof tenantId !== 'string' || tenantId === '') return fail("joinUrl context has no Tid (the meeting's tenant)");
  if (!GUID.test(tenantId)) return fail(`joinUrl context Tid must be a tenant id (GUID), got "${tenantId}"`);
  const organizerId = context['Oid'];
  if (typeof organizerId !== 'string' || organizerId === '') return fail("joinUrl context has no Oid (the meeting's organizer)");
  if (!GUID.test(organizerId)) return fail(`joinUrl context Oid must be a user id (GUID), got "${organizerId}"`);
  const replyChain = context['MessageId'];
  const replyChainMessageId =
    typeof replyChain === 'string' && replyChain !== '' && replyChain !== '0'
      ? replyChain
      : typeof replyChain === 'number' && replyChain > 0
        ? String(replyChain)
        : undefined;
  return {
    ok: true,
    meeting: { kind: 'organizer', threadId, messageId, replyChainMessageId, organizerId, tenantId },
  };
}

function parseMeetLink(url: URL, rest: string[]): JoinUrlResult {
  const id = rest.length === 1 ? decodeSegment(rest[0]!) : undefined;
  if (id === undefined || !JOIN_MEETING_ID.test(id)) {
    return fail('joinUrl must be /meet/<meeting id> with a meeting id of 6 to 20 digits');
  }
  const passcode = url.searchParams.get('p') ?? undefined;
  return { ok: true, meeting: { kind: 'joinMeetingId', joinMeetingId: id, passcode: passcode === '' ? undefined : passcode } };
}

/**
 * Links users paste are often wrapped: Outlook's Safe Links (`...safelinks.protection.outlook.com/?url=<link>`)
 * and the Teams web launcher (`/dl/launcher/launcher.html?url=/_#/l/meetup-join/...`). The wrapped
 * link is what counts.
 */
function unwrap(url: URL, depth = 0): URL {
  if (depth >= 3) return url;
  const host = url.hostname.toLowerCase();
  const inner = url.searchParams.get('url');
  if (inner === null) return url;
  if (host.endsWith('.safelinks.protection.outlook.com')) {
    const target = toUrl(inner);
    return target ? unwrap(target, depth + 1) : url;
  }
  if (TEAMS_HOSTS.includes(host) && url.pathname.toLowerCase() === '/dl/launcher/launcher.html') {
    const path = inner.replace(/^\/_#/, '');
    const target = path.startsWith('/') ? toUrl(`${url.protocol}//${url.host}${path}`) : undefined;
    return target ?? url;
  }
  return url;
}

// The context arrives decoded by URLSearchParams; a link that was encoded twice needs one more pass.
function parseContext(raw: string): Record<string, unknown> | undefined {
  for (const candidate of [raw, decodeSegment(raw)]) {
    if (candidate === undefined) continue;
    try {
      const value = JSON.parse(candidate) as unknown;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function toUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function fail(reason: string): JoinUrlResult {
  return { ok: false, reason };
}
