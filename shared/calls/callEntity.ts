import type { TableEntityResult } from '@azure/data-tables';
import { z } from 'zod';
import { CALL_STATES } from './callState.js';
import type { CallChange, CallRecord, StoredCall, UnreadableCall } from './callStore.js';
import { partitionKeyOf } from './partitionKey.js';

/** A call's row in Table Storage: JSON objects are kept as strings, dates as DateTime. */
export interface CallEntity {
  partitionKey: string;
  rowKey: string;
  state: string;
  createdAt: Date;
  keepAliveFailures: number;
  direction?: string;
  tenantId?: string;
  source?: string;
  chatInfo?: string;
  meetingInfo?: string;
  establishedAt?: Date;
  lastKeepAliveAt?: Date;
  joinInfo?: string;
  myParticipantId?: string;
  participantCount?: number;
  alone?: boolean;
  aloneSince?: Date;
  hangUpRequestedAt?: Date;
  endedAt?: Date;
  claim?: string;
  endClaim?: string;
  rejoinAttempts?: number;
  rejoinedFrom?: string;
  handledParticipants?: number;
}

export type ReadRow = { ok: true; call: StoredCall } | { ok: false; unreadable: UnreadableCall };

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

const jsonObject = z.string().transform((text, ctx): JsonObject => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
    return z.NEVER;
  }
  if (!isObject(value)) {
    ctx.addIssue({ code: 'custom', message: 'is JSON but not an object' });
    return z.NEVER;
  }
  return value;
});

// What a rejoin sends again (create-call: meetingInfo and the tenant), so it must be all there.
const joinInfo = jsonObject.pipe(
  z.object({
    chatInfo: z.record(z.string(), z.unknown()).optional(),
    meetingInfo: z.record(z.string(), z.unknown()),
    tenantId: z.string(),
  }),
);

// Every column a call row may hold, with the type this version writes. Columns this version does not
// know (a newer version's) are ignored; a known column of another type makes the row unreadable.
const callRow = z.object({
  rowKey: z.string(),
  etag: z.string(),
  state: z.enum(CALL_STATES, { error: (issue) => `"${String(issue.input)}" is not a call state` }),
  createdAt: z.date(),
  keepAliveFailures: z.number().int().nonnegative(),
  direction: z.string().optional(),
  tenantId: z.string().optional(),
  source: jsonObject.optional(),
  chatInfo: jsonObject.optional(),
  meetingInfo: jsonObject.optional(),
  establishedAt: z.date().optional(),
  lastKeepAliveAt: z.date().optional(),
  joinInfo: joinInfo.optional(),
  myParticipantId: z.string().optional(),
  participantCount: z.number().int().nonnegative().optional(),
  alone: z.boolean().optional(),
  aloneSince: z.date().optional(),
  hangUpRequestedAt: z.date().optional(),
  endedAt: z.date().optional(),
  claim: z.string().optional(),
  endClaim: z.string().optional(),
  rejoinAttempts: z.number().int().nonnegative().optional(),
  rejoinedFrom: z.string().optional(),
  handledParticipants: z.number().int().nonnegative().optional(),
});

/**
 * A row as a call, or, when this version cannot read it (another version's state, a hand edit, bad
 * JSON in a column, a column of the wrong type), what is wrong with it. Never throws: one bad row
 * must not stop the reading of the others.
 */
export function readCallEntity(entity: TableEntityResult<Record<string, unknown>>): ReadRow {
  const parsed = callRow.safeParse(entity);
  if (parsed.success) {
    const { rowKey, ...call } = parsed.data;
    return { ok: true, call: { callId: rowKey, ...call } };
  }
  const problem = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'row'}: ${issue.message}`).join('; ');
  return {
    ok: false,
    unreadable: {
      callId: String(entity.rowKey),
      etag: entity.etag,
      problem,
      keepAliveBasis: dateOr(entity['lastKeepAliveAt']) ?? dateOr(entity['createdAt']),
    },
  };
}

function dateOr(value: unknown): Date | undefined {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value : undefined;
}

export function toEntity(call: CallRecord): CallEntity {
  return withoutUndefined({
    partitionKey: partitionKeyOf(call.callId),
    rowKey: call.callId,
    state: call.state,
    createdAt: call.createdAt,
    keepAliveFailures: call.keepAliveFailures,
    direction: call.direction,
    tenantId: call.tenantId,
    source: json(call.source),
    chatInfo: json(call.chatInfo),
    meetingInfo: json(call.meetingInfo),
    establishedAt: call.establishedAt,
    lastKeepAliveAt: call.lastKeepAliveAt,
    joinInfo: json(call.joinInfo),
    myParticipantId: call.myParticipantId,
    participantCount: call.participantCount,
    alone: call.alone,
    aloneSince: call.aloneSince,
    hangUpRequestedAt: call.hangUpRequestedAt,
    endedAt: call.endedAt,
    claim: call.claim,
    endClaim: call.endClaim,
    rejoinAttempts: call.rejoinAttempts,
    rejoinedFrom: call.rejoinedFrom,
    handledParticipants: call.handledParticipants,
  }) as CallEntity;
}

/** The columns a change sets (a Merge writes only these); a cleared column is not among them. */
export function changeEntity(callId: string, change: CallChange): Partial<CallEntity> & { partitionKey: string; rowKey: string } {
  return {
    ...withoutUndefined({
      state: change.state,
      keepAliveFailures: change.keepAliveFailures,
      direction: change.direction,
      tenantId: change.tenantId,
      source: json(change.source),
      chatInfo: json(change.chatInfo),
      meetingInfo: json(change.meetingInfo),
      establishedAt: change.establishedAt,
      lastKeepAliveAt: change.lastKeepAliveAt,
      joinInfo: json(change.joinInfo),
      myParticipantId: change.myParticipantId,
      participantCount: change.participantCount,
      alone: change.alone,
      aloneSince: change.aloneSince,
      hangUpRequestedAt: change.hangUpRequestedAt ?? undefined,
      endedAt: change.endedAt,
      claim: change.claim,
      endClaim: change.endClaim,
      rejoinAttempts: change.rejoinAttempts,
      rejoinedFrom: change.rejoinedFrom,
      handledParticipants: change.handledParticipants,
    }),
    partitionKey: partitionKeyOf(callId),
    rowKey: callId,
  };
}

/** The columns a change removes (`null` in the change). */
export function clearedColumns(change: CallChange): string[] {
  return Object.entries(change)
    .filter(([, value]) => value === null)
    .map(([key]) => key);
}

/** The call after a change: `undefined` leaves a field as it was, `null` removes it. */
export function applyChange(call: StoredCall, change: CallChange): StoredCall {
  const next: Record<string, unknown> = { ...call, ...withoutUndefined(change) };
  for (const key of clearedColumns(change)) delete next[key];
  return next as unknown as StoredCall;
}

/** A row's stored columns, without the service's metadata: what a Replace writes back. */
export function storedColumns(entity: TableEntityResult<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entity).filter(([key]) => key !== 'etag' && key !== 'timestamp' && !key.startsWith('odata.')));
}

export function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function json(value: Record<string, unknown> | undefined): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}
