import { isCallState, type CallState } from '../calls/callState.js';
import { joinIdOf } from '../meetings/joinCorrelation.js';
import type { CallDetails } from '../calls/callStore.js';
import {
  callResourceDataSchema,
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
  /** `policyRecording`: a policy-based recording invitation (answer seed, example 3). */
  | { kind: 'answer'; callId: string; details: CallDetails; policyRecording: boolean }
  /** The call's participants as the roster notification lists them (create-call seed, "Notification - roster"). */
  | { kind: 'roster'; callId: string; participants: Record<string, unknown>[] }
  | { kind: 'updateState'; callId: string; state: CallState; details: CallDetails }
  | { kind: 'end'; callId: string; resultInfo: ResultInfo | undefined }
  | { kind: 'ignore'; callId: string; reason: string };

export type PlanResult = { ok: true; plan: NotificationPlan } | { ok: false; reason: string };

export interface CallResource {
  callId: string;
  /** e.g. `participants/abc`, `contentsharingsessions`, `operations/xyz`; undefined for the call itself. */
  subResource: string | undefined;
}

// `resourceUrl` is `/communications/calls/{id}[/...]`; older payloads also carry `resource` as
// `/app/calls/{id}` (answer seed, example 3). The id becomes a Table Storage RowKey, which may not
// contain '/', '\', '#', '?' or control characters.
const CALL_RESOURCE = /^\/(?:communications|app)\/calls\/([^/?#\\\u0000-\u001f\u007f]{1,256})(?:\/([^?#]*))?$/i;

export function parseCallResource(resourceUrl: string): CallResource | undefined {
  const match = CALL_RESOURCE.exec(resourceUrl);
  if (!match?.[1]) return undefined;
  const subResource = match[2]?.replace(/\/+$/, '');
  return { callId: match[1], subResource: subResource === '' ? undefined : subResource };
}

function planCallNotification(notification: CommsNotification): PlanResult {
  const resource = parseCallResource(notification.resourceUrl);
  if (!resource) {
    return { ok: false, reason: `resourceUrl "${notification.resourceUrl}" is not a /communications/calls/{id} resource` };
  }
  const { callId, subResource } = resource;
  if (subResource?.toLowerCase() === 'participants' && notification.changeType !== 'deleted') {
    if (!Array.isArray(notification.resourceData)) {
      return ok({ kind: 'ignore', callId, reason: 'participants notification without a participant list' });
    }
    return ok({ kind: 'roster', callId, participants: notification.resourceData });
  }
  if (subResource !== undefined) {
    return ok({ kind: 'ignore', callId, reason: `${subResource.split('/')[0]} notifications are not handled` });
  }

  const parsedData =
    notification.resourceData === undefined || Array.isArray(notification.resourceData)
      ? undefined
      : callResourceDataSchema.safeParse(notification.resourceData);
  if (parsedData && !parsedData.success) {
    const issue = parsedData.error.issues[0];
    return { ok: false, reason: `resourceData.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  const data = parsedData?.data;

  if (notification.changeType === 'deleted' || data?.state === 'terminated') {
    return ok({ kind: 'end', callId, resultInfo: data?.resultInfo ?? undefined });
  }
  if (data?.state === undefined) {
    return ok({ kind: 'ignore', callId, reason: 'call notification without a state' });
  }
  if (!isCallState(data.state)) {
    return ok({ kind: 'ignore', callId, reason: `unknown call state "${data.state}"` });
  }
  const details = callDetails(data);
  if (notification.changeType === 'created' && data.state === 'incoming') {
    return ok({ kind: 'answer', callId, details, policyRecording: data.applicationMetadata !== undefined });
  }
  return ok({ kind: 'updateState', callId, state: data.state, details });
}

/**
 * What one notification asks of the bot, with the join it belongs to when its callback URL names
 * one (see `joinCorrelation.ts`): a call whose create answer was lost is adopted through it.
 */
export function planNotification(notification: CommsNotification): PlanResult {
  const planned = planCallNotification(notification);
  const joinId = joinIdOf(notification['callbackUri']);
  return planned.ok && joinId !== undefined ? { ok: true, plan: { ...planned.plan, joinId } } : planned;
}

function ok(plan: NotificationPlan): PlanResult {
  return { ok: true, plan };
}

function callDetails(data: CallResourceData): CallDetails {
  return {
    direction: data.direction,
    tenantId: data.tenantId,
    source: data.source,
    chatInfo: data.chatInfo ?? undefined,
    meetingInfo: data.meetingInfo ?? undefined,
  };
}
