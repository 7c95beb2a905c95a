import type { PromptPlayback, StoredCall } from '../calls/callStore.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';
import type { OutgoingTarget } from '../outgoing/outgoingCall.js';
import { MAX_TONES } from '../media/tones.js';

/**
 * A short record of a call that ended, so "did the engineer answer? did they press 1?" can still be
 * asked after its row is gone. Kept CALL_HISTORY_DAYS; times are ISO strings.
 */
export interface CallHistoryRecord {
  id: string;
  direction: string | null;
  /** Whom a placed call went to. */
  targets: OutgoingTarget[] | null;
  /** Who called (an incoming call's source identity, as Graph reported it). */
  caller: Record<string, unknown> | null;
  /** The meeting's thread id (chatInfo), or its join meeting id, for a joined meeting. */
  meeting: string | null;
  createdAt: string;
  establishedAt: string | null;
  endedAt: string;
  /** Whether the call ever reached `established`: a callee who never picked up reads false. */
  answered: boolean;
  /** How it ended, as Graph said (https://learn.microsoft.com/en-us/graph/api/call-delete, "Call end reason codes"); null when no terminated notification told. */
  resultInfo: ResultInfo | null;
  /** Why the app dropped the row, when Graph's terminated notification was not what ended it. */
  endedBy: 'notification' | 'keepAlive404' | 'hangUp404';
  prompt: Pick<PromptPlayback, 'uri' | 'status' | 'resultInfo'> | null;
  /** The keys pressed, in order. */
  tones: string[];
  keepAlivesSent: number;
  clientContext: string | null;
}

/** The ended calls, newest first. */
export interface CallHistory {
  /** Records one ended call; the first record of a call stands (a repeat is ignored). */
  record(entry: CallHistoryRecord, options?: { abortSignal?: AbortSignal }): Promise<void>;
  get(callId: string): Promise<CallHistoryRecord | undefined>;
  /** Ended calls that ended at `since` or later, newest first, a page at a time; `invalidToken` for a token it did not hand out. */
  listPage(options: { since?: Date; pageSize: number; continuationToken?: string }): Promise<HistoryPage | 'invalidToken'>;
  /** Removes at most `limit` records of calls that ended before `cutoff`; how many it removed. */
  removeEndedBefore(cutoff: Date, limit: number): Promise<number>;
}

export interface HistoryPage {
  calls: CallHistoryRecord[];
  continuationToken: string | undefined;
}

/** The record of a call whose row is about to go, or just went. Pure. */
export function historyRecordOf(
  call: StoredCall,
  end: { endedAt: Date; resultInfo: ResultInfo | undefined; endedBy: CallHistoryRecord['endedBy'] },
): CallHistoryRecord {
  const identity = call.source?.['identity'];
  const threadId = call.chatInfo?.['threadId'] ?? call.joinInfo?.chatInfo?.['threadId'];
  const joinMeetingId = call.meetingInfo?.['joinMeetingId'] ?? call.joinInfo?.meetingInfo['joinMeetingId'];
  return {
    id: call.callId,
    direction: call.direction ?? null,
    targets: call.outgoing?.targets ?? null,
    caller:
      call.direction === 'incoming' && typeof identity === 'object' && identity !== null ? (identity as Record<string, unknown>) : null,
    meeting: typeof threadId === 'string' ? threadId : typeof joinMeetingId === 'string' ? joinMeetingId : null,
    createdAt: call.createdAt.toISOString(),
    establishedAt: call.establishedAt?.toISOString() ?? null,
    endedAt: end.endedAt.toISOString(),
    answered: call.establishedAt !== undefined,
    resultInfo: end.resultInfo ?? null,
    endedBy: end.endedBy,
    prompt: call.prompt ? { uri: call.prompt.uri, status: call.prompt.status, resultInfo: call.prompt.resultInfo } : null,
    // A row keeps at most MAX_TONES presses; one written by hand or another version is cut to it too.
    tones: (call.tones ?? []).slice(0, MAX_TONES).map((t) => t.tone),
    keepAlivesSent: call.keepAlivesSent ?? 0,
    clientContext: call.outgoing?.clientContext ?? null,
  };
}
