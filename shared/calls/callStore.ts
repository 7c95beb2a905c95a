import type { CallState } from './callState.js';
import type { OutgoingCall } from '../outgoing/outgoingCall.js';

type JsonObject = Record<string, unknown>;

/** What Graph tells us about a call that is worth keeping to operate it and to rejoin it. */
export interface CallDetails {
  direction?: string | undefined;
  tenantId?: string | undefined;
  source?: JsonObject | undefined;
  /** Kept so a meeting can be rejoined (https://learn.microsoft.com/en-us/graph/api/resources/call: "record these values in a highly available store"). */
  chatInfo?: JsonObject | undefined;
  meetingInfo?: JsonObject | undefined;
}

/**
 * Exactly what the bot sent to join a meeting (https://learn.microsoft.com/en-us/graph/api/application-post-calls), kept apart from the chatInfo and
 * meetingInfo Graph reports back, which may lack fields a rejoin needs (e.g. the organizer's tenant).
 */
export type JoinInfo = {
  chatInfo?: JsonObject | undefined;
  meetingInfo: JsonObject;
  tenantId: string;
};

/**
 * A prompt played in the call (https://learn.microsoft.com/en-us/graph/api/call-playprompt): an
 * outgoing call's own, or the welcome prompt of an answered incoming call. Decided when the row is
 * made (`pending`), so a call answered before a prompt was configured never gets one mid-call.
 * Times are ISO strings.
 */
export interface PromptPlayback {
  uri: string;
  /**
   * `pending`: to be played once the call is established; `requested`: claimed on the row (with
   * `claim`), so no other delivery plays it; then Graph's operation status.
   */
  status: 'pending' | 'requested' | 'running' | 'completed' | 'failed';
  /** Written with `requested` by the delivery that asks Graph: a repeated write of its own is known by it. */
  claim?: string | undefined;
  operationId?: string | undefined;
  requestedAt?: string | undefined;
  finishedAt?: string | undefined;
  /** Graph's resultInfo of the finished operation, or why the request failed. */
  resultInfo?: { code?: number | undefined; subcode?: number | undefined; message?: string | undefined } | undefined;
}

/** One key press (https://learn.microsoft.com/en-us/graph/api/resources/toneinfo). */
export interface TonePress {
  sequenceId: number;
  tone: string;
  at: string;
}

export interface CallRecord extends CallDetails {
  callId: string;
  state: CallState;
  createdAt: Date;
  establishedAt?: Date | undefined;
  lastKeepAliveAt?: Date | undefined;
  keepAliveFailures: number;
  /** Present on meetings the bot joined itself: what to send again to rejoin. */
  joinInfo?: JoinInfo | undefined;
  /** The bot's own participant id in the call, to tell itself apart in a roster. */
  myParticipantId?: string | undefined;
  /** Participants in the last roster notification, the bot included. */
  participantCount?: number | undefined;
  /** The last roster held nobody but the bot. */
  alone?: boolean | undefined;
  /** When the roster last became the bot alone; meaningful while `alone`. */
  aloneSince?: Date | undefined;
  /** The bot asked Graph to hang up: the end that follows is normal and is not rejoined. */
  hangUpRequestedAt?: Date | undefined;
  /**
   * A joined meeting whose keepAlive answered 404: the call is over, but its row (in state
   * `terminated`) keeps the join information until the terminated notification says whether the
   * end was abnormal and the meeting is to be rejoined. Not kept alive; removed after a grace period.
   */
  endedAt?: Date | undefined;
  /** Written by the delivery that inserted an incoming call's row, to know its own row again. */
  claim?: string | undefined;
  /** Rejoins made since the meeting was last established. */
  rejoinAttempts?: number | undefined;
  /** The call this one rejoined. */
  rejoinedFrom?: string | undefined;
  /**
   * Participants a policy-based recording call handles: the invitation the bot answered counts
   * one (so absent reads as 1), each participant it accepted from a participantJoiningNotification
   * one more. Compared with POLICY_RECORDING_PARTICIPANT_CAPACITY.
   */
  handledParticipants?: number | undefined;
  /** A policy-based recording call: the bot records it silently, so no welcome prompt is played into it. */
  policyRecording?: boolean | undefined;
  /** Present on calls the bot placed (`POST /api/calls/outgoing`): what to play, collect, and when to hang up. */
  outgoing?: OutgoingCall | undefined;
  prompt?: PromptPlayback | undefined;
  /** Key presses in the order pressed, one per Graph sequenceId (a redelivery adds none). */
  tones?: TonePress[] | undefined;
  /** When the bot subscribed to the call's key presses (once per call). */
  toneSubscribedAt?: Date | undefined;
  /** keepAlives Graph accepted for this call. */
  keepAlivesSent?: number | undefined;
}

/** A call as read from the store, with the ETag that guards the next write. */
export interface StoredCall extends CallRecord {
  etag: string;
}

/**
 * Fields to set; a field left `undefined` stays as it is. `hangUpRequestedAt: null` removes the mark
 * (a hang-up that failed), so a later abnormal end is rejoined again.
 */
export type CallChange = Partial<Omit<CallRecord, 'callId' | 'createdAt' | 'hangUpRequestedAt'>> & {
  hangUpRequestedAt?: Date | null | undefined;
};

/**
 * A row this version cannot read: a state written by another version, a hand edit, bad JSON in a
 * column, a column of the wrong type. Its key still names a call that may be live at Graph.
 */
export interface UnreadableCall {
  /** The row key: the call id the row was written for. */
  callId: string;
  etag: string;
  /** What is wrong, column by column. */
  problem: string;
  /** The row's last successful keepAlive (or its start) when that column is readable. */
  keepAliveBasis: Date | undefined;
}

/** Thrown by `get` and `update` for a row they cannot read. */
export class UnreadableCallError extends Error {
  constructor(readonly row: UnreadableCall) {
    super(`Call ${row.callId}: its row cannot be read (${row.problem})`);
    this.name = 'UnreadableCallError';
  }
}

/** The rows of one page: the calls, and apart from them the rows that could not be read. */
export interface CallRows {
  calls: StoredCall[];
  unreadable: UnreadableCall[];
}

export type UpdateResult = { outcome: 'updated'; call: StoredCall } | { outcome: 'unchanged'; call: StoredCall } | { outcome: 'missing' };

/**
 * Decides the change to make to the call as it is now; `undefined` leaves it as it is.
 * It may run more than once when another writer got there first, so it must be pure.
 */
export type DecideChange = (current: StoredCall) => CallChange | undefined;

/** What a sweep learned from one keepAlive, to be written back to the call's row. */
export type KeepAliveResult = { call: StoredCall; outcome: 'ok'; at: Date } | { call: StoredCall; outcome: 'failed' };

export interface RecordedKeepAlives {
  /** Rows written, in batches or one by one. */
  written: number;
  /** Rows that were gone by the time of the write (the call ended meanwhile); never recreated. */
  missing: number;
}

/**
 * The change a keepAlive result makes to a call as it is now. The last-success time only moves
 * forward, so a slow writer cannot undo a newer keepAlive; a success clears the failure count.
 */
export function keepAliveChange(result: KeepAliveResult, current: CallRecord): CallChange {
  if (result.outcome === 'failed') return { keepAliveFailures: current.keepAliveFailures + 1 };
  const last = current.lastKeepAliveAt;
  return {
    lastKeepAliveAt: last && last > result.at ? last : result.at,
    keepAliveFailures: 0,
    keepAlivesSent: (current.keepAlivesSent ?? 0) + 1,
  };
}

export interface PageOptions {
  pageSize?: number;
  /** Only the calls of this partition (see `CALL_PARTITIONS`): one shard of a fanned-out sweep. */
  partition?: string;
}

export interface CallPage extends CallRows {
  /** Absent on the last page. */
  continuationToken: string | undefined;
}

/** Cuts a store request (and the SDK's own retries of it) short, e.g. at an answer's deadline. */
export interface StoreRequestOptions {
  abortSignal?: AbortSignal;
}

export interface CallStore {
  /** Creates what the store needs (its table) if it is missing: done once, and shared with the first use. */
  prepare(): Promise<void>;
  /** Throws `UnreadableCallError` for a row it cannot read. */
  get(callId: string, options?: StoreRequestOptions): Promise<StoredCall | undefined>;
  /** Adds a call; `exists` when a row for it is already there (a duplicate notification). */
  insert(call: CallRecord, options?: StoreRequestOptions): Promise<'inserted' | 'exists'>;
  /**
   * Read-modify-write under the row's ETag, retried when another writer changed the row in
   * between. Never recreates a deleted row: that is reported as `missing`.
   * `known` is a copy just read (e.g. by a sweep) that saves the first read. Throws
   * `UnreadableCallError` for a row it cannot read (it never writes over what it cannot read).
   */
  update(callId: string, decide: DecideChange, known?: StoredCall): Promise<UpdateResult>;
  remove(callId: string): Promise<'removed' | 'missing'>;
  /**
   * One page of active calls for a listing; pass the previous page's `continuationToken` for the
   * next. `invalidToken` when the token is not one this store handed out. Rows that cannot be read
   * are handed over apart.
   */
  listPage(pageSize: number, continuationToken?: string): Promise<CallPage | 'invalidToken'>;
  /**
   * How many calls are active. Reads every row's key only, so it costs one request per 1,000 calls.
   * Once `signal` aborts it reads no more and rejects.
   */
  countActive(signal?: AbortSignal): Promise<number>;
  /**
   * All active calls, a page at a time, so the caller never holds the whole table. A row that
   * cannot be read is handed over apart, so it never stops the reading of the others.
   */
  pages(options?: PageOptions): AsyncIterable<CallRows>;
  /**
   * Writes a sweep's keepAlive results back, each under the ETag it was read with. A row that
   * changed meanwhile is re-read and written again; a row that is gone stays gone.
   */
  recordKeepAliveResults(results: readonly KeepAliveResult[]): Promise<RecordedKeepAlives>;
  /** The number of active calls, counting no further than `limit` (so the cost is bounded); as `countActive` for `signal`. */
  countUpTo(limit: number, signal?: AbortSignal): Promise<number>;
}
