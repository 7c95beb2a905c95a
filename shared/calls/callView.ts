import type { PromptPlayback, StoredCall, TonePress } from './callStore.js';
import type { OutgoingTarget } from '../outgoing/outgoingCall.js';

/** A call as the control routes show it. */
export interface CallView {
  id: string;
  state: string;
  direction: string | null;
  tenantId: string | null;
  /** The meeting's thread id (chatInfo), or its join meeting id. */
  meeting: string | null;
  createdAt: string;
  ageSeconds: number;
  lastKeepAliveAt: string | null;
  lastKeepAliveAgeSeconds: number | null;
  keepAliveFailures: number;
  participantCount: number | null;
  rejoinedFrom: string | null;
  hangUpRequested: boolean;
  /** Calls the bot placed: whom it called, and the caller's own id for the call. */
  targets: OutgoingTarget[] | null;
  clientContext: string | null;
  prompt: PromptPlayback | null;
  /** Key presses in the order pressed. */
  tones: TonePress[];
}

/** Pure: the view of a stored call at `now`. */
export function callView(call: StoredCall, now: Date): CallView {
  const seconds = (since: Date) => Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));
  return {
    id: call.callId,
    state: call.state,
    direction: call.direction ?? null,
    tenantId: call.tenantId ?? null,
    meeting: meetingOf(call),
    createdAt: call.createdAt.toISOString(),
    ageSeconds: seconds(call.createdAt),
    lastKeepAliveAt: call.lastKeepAliveAt?.toISOString() ?? null,
    lastKeepAliveAgeSeconds: call.lastKeepAliveAt ? seconds(call.lastKeepAliveAt) : null,
    keepAliveFailures: call.keepAliveFailures,
    participantCount: call.participantCount ?? null,
    rejoinedFrom: call.rejoinedFrom ?? null,
    hangUpRequested: call.hangUpRequestedAt !== undefined,
    targets: call.outgoing?.targets ?? null,
    clientContext: call.outgoing?.clientContext ?? null,
    prompt: call.prompt ?? null,
    tones: call.tones ?? [],
  };
}

function meetingOf(call: StoredCall): string | null {
  const threadId = call.chatInfo?.['threadId'];
  if (typeof threadId === 'string') return threadId;
  const joinMeetingId = call.meetingInfo?.['joinMeetingId'];
  return typeof joinMeetingId === 'string' ? joinMeetingId : null;
}
