import type { JoinInfo } from '../calls/callStore.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';
import type { OutgoingCall } from '../outgoing/outgoingCall.js';

/** What a create asks Graph for: to join a meeting, or to call people (`POST /api/calls/outgoing`). */
export type CallAsk = { joinInfo: JoinInfo; outgoing?: undefined } | { outgoing: OutgoingCall; joinInfo?: undefined };

/**
 * A create the bot asked Graph for (a meeting join, or a call it places), written before `POST /communications/calls` is sent and kept until
 * the call it made has a row. Create-call is not idempotent
 * (https://learn.microsoft.com/en-us/graph/api/application-post-calls): when its answer is lost,
 * Graph may have made a call the bot cannot name. That call's notifications come to the callback URL
 * the create named, which carries the join id (see `joinCorrelation.ts`), so the bot can adopt it.
 */
export type PendingJoin = CallAsk & PendingJoinState;

export interface PendingJoinState {
  joinId: string;
  requestedAt: Date;
  /**
   * `creating`: the create is under way; `unknown`: its outcome was ambiguous, so its call may exist;
   * `closed`: settled (its call tracked, or refused). A closed entry stays until the join's settle
   * message removes it, so a repeated rejoin message finds its attempt already made.
   */
  stage: 'creating' | 'unknown' | 'closed';
  /** When this join rejoins a call that ended abnormally. */
  rejoinedFrom?: string | undefined;
  rejoinAttempts?: number | undefined;
  /**
   * The join's call ended. `handled`: its end (and any rejoin) was already dealt with by the
   * termination; otherwise whoever stores the row, or the settle message, deals with it.
   */
  ended?: { callId: string; resultInfo?: ResultInfo | undefined; handled: boolean } | undefined;
  /** The call a notification adopted for this join before the create's answer arrived. */
  adoptedCallId?: string | undefined;
  /** A call Graph made for this join whose row could not be stored (nor the call hung up). */
  createdCallId?: string | undefined;
  /** Graph refused the create with this status (a closed entry that made no call). */
  refusedStatus?: number | undefined;
  /**
   * Written by whoever opened the entry: the storage SDK repeats an insert whose response was lost,
   * and the repeat's 409 must not read as "this attempt was already made".
   */
  claim?: string | undefined;
}

export type StoredPendingJoin = PendingJoin & {
  etag: string;
};

export interface JoinLedger {
  /** `exists` when an entry with this join id is already there (a repeated rejoin message). */
  open(join: PendingJoin): Promise<'opened' | 'exists'>;
  get(joinId: string): Promise<StoredPendingJoin | undefined>;
  /** Under the entry's ETag, retried on conflict; `missing` when it was closed meanwhile. */
  update(
    joinId: string,
    decide: (current: StoredPendingJoin) => Partial<PendingJoinState> | undefined,
  ): Promise<StoredPendingJoin | 'missing'>;
  /** Marks the entry settled (see `stage`). */
  close(joinId: string): Promise<void>;
  /** Deletes the entry for good. */
  remove(joinId: string): Promise<void>;
}
