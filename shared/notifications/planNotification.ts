import { isCallId } from '../calls/callId.js';
import { isCallState, type CallState } from '../calls/callState.js';
import { joinIdOf } from '../meetings/joinCorrelation.js';
import type { CallDetails } from '../calls/callStore.js';
import { logSafe } from '../logSafe.js';
import { boundedJson, boundedString, type Bounded } from './boundedJson.js';
import {
  callResourceDataSchema,
  firstIssue,
  operationDataSchema,
  participantJoiningSchema,
  PARTICIPANT_JOINING_NOTIFICATION,
  toneInfoSchema,
  type CallResourceData,
  type CommsNotification,
  type ResultInfo,
} from './notificationSchema.js';

/** What one notification asks of the bot. Pure: deciding needs no I/O. */
export type NotificationPlan = PlanKind & {
  /** The bot's join that made this call, when the notification's callbackUri names one. */
  joinId?: string | undefined;
};

type PlanKind =
  /** `policyRecording`: a policy-based recording invitation (https://learn.microsoft.com/en-us/graph/api/call-answer, example 3). */
  | { kind: 'answer'; callId: string; details: CallDetails; policyRecording: boolean }
  /** The call's participants as the roster notification lists them. */
  | { kind: 'roster'; callId: string; participants: Record<string, unknown>[] }
  /** `tone`: a key press the notification reports. */
  | { kind: 'updateState'; callId: string; state: CallState; details: CallDetails; tone?: { sequenceId: number; tone: string } | undefined }
  /**
   * An operation of the call finished or moved on (a prompt played). `callId` is the call the
   * operation's clientContext names when it names one (the bot sets it to the call id), else the
   * resource URL's: Graph's documented operation notifications spell the call id differently.
   */
  | {
      kind: 'operation';
      callId: string;
      operationId: string;
      operationType: string | undefined;
      status: string | undefined;
      resultInfo: ResultInfo | undefined;
    }
  | { kind: 'end'; callId: string; resultInfo: ResultInfo | undefined }
  /**
   * Another participant under the recording policy is about to join the recording call `callId`,
   * which the bot answered with `participantCapacity`; Graph waits for the bot's
   * participantJoiningResponse in the response body
   * (https://learn.microsoft.com/en-us/graph/api/resources/participantjoiningnotification).
   */
  | { kind: 'participantJoining'; callId: string; tenantId: string | undefined }
  | { kind: 'ignore'; callId: string; reason: string };

/** `dropped`: values left out because they are too deep or too large to store, each with why. */
export type PlanResult = { ok: true; plan: NotificationPlan; dropped: string[] } | { ok: false; reason: string };

export interface CallResource {
  callId: string;
  /** e.g. `participants/abc`, `contentsharingsessions`, `operations/xyz`; undefined for the call itself. */
  subResource: string | undefined;
}

// `resourceUrl` is `/communications/calls/{id}[/...]`; older payloads also carry `resource` as
// `/app/calls/{id}` (https://learn.microsoft.com/en-us/graph/api/call-answer, example 3). The id
// becomes a Table Storage RowKey, which may not contain '/', '\', '#', '?' or control characters.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CALL_RESOURCE = /^\/(?:communications|app)\/calls\/([^/?#\\\u0000-\u001f\u007f]{1,256})(?:\/([^?#]*))?$/i;

// Graph's resultInfo.message is a sentence; it is only logged.
const MAX_RESULT_MESSAGE_CHARS = 1_000;

export function parseCallResource(resourceUrl: string): CallResource | undefined {
  const match = CALL_RESOURCE.exec(resourceUrl);
  if (!match?.[1]) return undefined;
  const subResource = match[2]?.replace(/\/+$/, '');
  return { callId: match[1], subResource: subResource === '' ? undefined : subResource };
}

function planCallNotification(notification: CommsNotification): PlanResult {
  const resource = parseCallResource(notification.resourceUrl);
  if (!resource) {
    return { ok: false, reason: `resourceUrl "${logSafe(notification.resourceUrl)}" is not a /communications/calls/{id} resource` };
  }
  const { callId, subResource } = resource;
  const data = notification.resourceData;
  if (subResource?.toLowerCase() === 'participants' && notification.changeType !== 'deleted') {
    if (!Array.isArray(data)) {
      return ok({ kind: 'ignore', callId, reason: 'participants notification without a participant list' });
    }
    return ok({ kind: 'roster', callId, participants: data });
  }
  const operationId = /^operations\/([^/]+)$/i.exec(subResource ?? '')?.[1];
  if (operationId !== undefined) {
    // Never an end of the call, whatever its changeType: a finished operation is "deleted".
    const operation = operationDataSchema.safeParse(Array.isArray(data) ? undefined : (data ?? {}));
    if (!operation.success) return { ok: false, reason: `resourceData.${firstIssue(operation.error)}` };
    const { clientContext, status, resultInfo } = operation.data;
    return ok({
      kind: 'operation',
      callId: clientContext !== undefined && isCallId(clientContext) ? clientContext : callId,
      operationId: operation.data.id ?? operationId,
      operationType: operation.data['@odata.type'],
      status,
      resultInfo: resultInfoOf(resultInfo),
    });
  }
  if (subResource !== undefined) {
    return ok({ kind: 'ignore', callId, reason: `${logSafe(subResource.split('/')[0])} notifications are not handled` });
  }
  if (data !== undefined && !Array.isArray(data) && isParticipantJoining(data)) {
    const joining = participantJoiningSchema.safeParse(data);
    if (!joining.success) return { ok: false, reason: `resourceData.${firstIssue(joining.error)}` };
    const tenantId = bounded('call.tenantId', joining.data.call?.tenantId, boundedString);
    return ok({ kind: 'participantJoining', callId, tenantId: tenantId.value }, tenantId.dropped);
  }

  const parsedData = data === undefined || Array.isArray(data) ? undefined : callResourceDataSchema.safeParse(data);
  if (parsedData && !parsedData.success) return { ok: false, reason: `resourceData.${firstIssue(parsedData.error)}` };
  const call = parsedData?.data;

  if (notification.changeType === 'deleted' || call?.state === 'terminated') {
    return ok({ kind: 'end', callId, resultInfo: resultInfoOf(call?.resultInfo) });
  }
  if (call?.state === undefined) {
    return ok({ kind: 'ignore', callId, reason: 'call notification without a state' });
  }
  if (!isCallState(call.state)) {
    return ok({ kind: 'ignore', callId, reason: `unknown call state "${logSafe(call.state)}"` });
  }
  const { details, dropped } = callDetails(call);
  if (notification.changeType === 'created' && call.state === 'incoming') {
    return ok({ kind: 'answer', callId, details, policyRecording: call.applicationMetadata !== undefined }, dropped);
  }
  const toneInfo = call.toneInfo === undefined ? undefined : toneInfoSchema.safeParse(call.toneInfo);
  const tone = toneInfo?.success ? { sequenceId: toneInfo.data.sequenceId, tone: toneInfo.data.tone } : undefined;
  if (toneInfo && !toneInfo.success) dropped.push(`toneInfo (${firstIssue(toneInfo.error)})`);
  return ok({ kind: 'updateState', callId, state: call.state, details, tone }, dropped);
}

/**
 * What one notification asks of the bot, with the join it belongs to when its callback URL names
 * one (see `joinCorrelation.ts`): a call whose create answer was lost is adopted through it.
 */
export function planNotification(notification: CommsNotification): PlanResult {
  const planned = planCallNotification(notification);
  const joinId = joinIdOf(notification['callbackUri']);
  return planned.ok && joinId !== undefined ? { ...planned, plan: { ...planned.plan, joinId } } : planned;
}

function ok(plan: NotificationPlan, dropped: string[] = []): PlanResult {
  return { ok: true, plan, dropped };
}

function isParticipantJoining(data: Record<string, unknown>): boolean {
  const type = data['@odata.type'];
  return typeof type === 'string' && type.toLowerCase() === PARTICIPANT_JOINING_NOTIFICATION.toLowerCase();
}

/**
 * What the row keeps of the call data. A value too deep or too large to store is dropped (and
 * named in `dropped`) rather than refusing the notification: the call is still answered and
 * tracked, only that detail is missing.
 */
function callDetails(data: CallResourceData): { details: CallDetails; dropped: string[] } {
  const fields = {
    direction: bounded('direction', data.direction, boundedString),
    tenantId: bounded('tenantId', data.tenantId, boundedString),
    source: bounded('source', data.source, boundedJson),
    chatInfo: bounded('chatInfo', data.chatInfo, boundedJson),
    meetingInfo: bounded('meetingInfo', data.meetingInfo, boundedJson),
  };
  return {
    details: {
      direction: fields.direction.value,
      tenantId: fields.tenantId.value,
      source: fields.source.value,
      chatInfo: fields.chatInfo.value,
      meetingInfo: fields.meetingInfo.value,
    },
    dropped: Object.values(fields).flatMap((field) => field.dropped),
  };
}

function bounded<T>(name: string, value: T | undefined, bound: (value: T) => Bounded<T>): { value: T | undefined; dropped: string[] } {
  if (value === undefined) return { value, dropped: [] };
  const checked = bound(value);
  return checked.ok ? { value: checked.value, dropped: [] } : { value: undefined, dropped: [`${name} (${checked.why})`] };
}

/**
 * The fields of resultInfo the bot reads (code and subcode decide a rejoin, the message is
 * logged). Anything else Graph adds is left out: it is logged as JSON, and must stay small.
 */
function resultInfoOf(resultInfo: ResultInfo | undefined): ResultInfo | undefined {
  if (resultInfo === undefined) return undefined;
  const { code, subcode, message } = resultInfo;
  return {
    code,
    subcode,
    message: message === undefined ? undefined : message.slice(0, MAX_RESULT_MESSAGE_CHARS),
  };
}
