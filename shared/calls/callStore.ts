import type { CallState } from './callState.js';

type JsonObject = Record<string, unknown>;

/** What Graph tells us about a call that is worth keeping to operate it and to rejoin it. */
export interface CallDetails {
  direction?: string | undefined;
  tenantId?: string | undefined;
  source?: JsonObject | undefined;
  /** Kept so a meeting can be rejoined (call resource seed: "record these values in a highly available store"). */
  chatInfo?: JsonObject | undefined;
  meetingInfo?: JsonObject | undefined;
}

export interface CallRecord extends CallDetails {
  callId: string;
  state: CallState;
  createdAt: Date;
  establishedAt?: Date | undefined;
  lastKeepAliveAt?: Date | undefined;
  keepAliveFailures: number;
}

/** A call as read from the store, with the ETag that guards the next write. */
export interface StoredCall extends CallRecord {
  etag: string;
}

export type CallChange = Partial<Omit<CallRecord, 'callId' | 'createdAt'>>;

export type UpdateResult =
  | { outcome: 'updated'; call: StoredCall }
  | { outcome: 'unchanged'; call: StoredCall }
  | { outcome: 'missing' };

/**
 * Decides the change to make to the call as it is now; `undefined` leaves it as it is.
 * It may run more than once when another writer got there first, so it must be pure.
 */
export type DecideChange = (current: StoredCall) => CallChange | undefined;

export interface CallStore {
  get(callId: string): Promise<StoredCall | undefined>;
  /** Adds a call; `exists` when a row for it is already there (a duplicate notification). */
  insert(call: CallRecord): Promise<'inserted' | 'exists'>;
  /**
   * Read-modify-write under the row's ETag, retried when another writer changed the row in
   * between. Never recreates a deleted row: that is reported as `missing`.
   * `known` is a copy just read (e.g. by a sweep) that saves the first read.
   */
  update(callId: string, decide: DecideChange, known?: StoredCall): Promise<UpdateResult>;
  remove(callId: string): Promise<'removed' | 'missing'>;
  /** All active calls, a page at a time, so the caller never holds the whole table. */
  pages(pageSize?: number): AsyncIterable<StoredCall[]>;
}
