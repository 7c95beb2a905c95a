import type { TableEntityResult } from '@azure/data-tables';
import * as z from '../schema.js';
import { CALL_STATES } from './callState.js';
import type { CallChange, CallRecord, StoredCall, UnreadableCall } from './callStore.js';
import { partitionKeyOf } from './partitionKey.js';

export type ReadRow = { ok: true; call: StoredCall } | { ok: false; unreadable: UnreadableCall };

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A column holding JSON text, read as its value; every JSON column is read through it. */
const json = z.pipe(
  z.string(),
  z.transform((text: string, ctx): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return z.refuse(ctx, 'is not valid JSON');
    }
  }),
);

/** A JSON column read as `schema` (an object or an array). */
const jsonOf = <T>(schema: z.ZodMiniType<T, unknown>) => z.pipe(json, schema);

const jsonObject = jsonOf(z.custom<JsonObject>(isObject, { message: 'is JSON but not an object' }));

// What a rejoin sends again (create-call: meetingInfo and the tenant), so it must be all there.
const joinInfo = z.pipe(
  jsonObject,
  z.object({
    chatInfo: z.optional(z.record(z.string(), z.unknown())),
    meetingInfo: z.record(z.string(), z.unknown()),
    tenantId: z.string(),
  }),
);

const resultInfo = z.object({ code: z.optional(z.number()), subcode: z.optional(z.number()), message: z.optional(z.string()) });

const outgoing = jsonOf(
  z.object({
    targets: z.array(
      z.union([
        z.object({ kind: z.literal('user'), userId: z.string(), tenantId: z.optional(z.string()), displayName: z.optional(z.string()) }),
        z.object({ kind: z.literal('phone'), phone: z.string() }),
      ]),
    ),
    tenantId: z.string(),
    source: z.union([
      z.object({ kind: z.literal('application'), id: z.string() }),
      z.object({ kind: z.literal('applicationInstance'), id: z.string(), displayName: z.optional(z.string()) }),
    ]),
    prompt: z.optional(z.string()),
    collectTone: z.boolean(),
    hangUpAfter: z.optional(z.enum(['prompt', 'tone'])),
    clientContext: z.optional(z.string()),
  }),
);

const prompt = jsonOf(
  z.object({
    uri: z.string(),
    status: z.enum(['pending', 'requested', 'running', 'completed', 'failed']),
    claim: z.optional(z.string()),
    operationId: z.optional(z.string()),
    requestedAt: z.optional(z.string()),
    finishedAt: z.optional(z.string()),
    resultInfo: z.optional(resultInfo),
  }),
);

const tones = jsonOf(z.array(z.object({ sequenceId: z.int(), tone: z.string(), at: z.string() })));

/** How one field of a call is kept in its column: read (and checked) with `read`, written with `write`. */
interface Column<T> {
  read: z.ZodMiniType<T, unknown>;
  write: (value: T) => unknown;
}

const asIs = <T>(read: z.ZodMiniType<T, unknown>): Column<T> => ({ read, write: (value) => value });
// JSON objects are kept as strings (a Table Storage property holds no object); dates as DateTime.
const asJson = <T extends object>(read: z.ZodMiniType<T, unknown>): Column<T> => ({ read, write: (value) => JSON.stringify(value) });
const count = z.int().check(z.nonnegative());

/**
 * Every column a call row holds, written once: the entity written, the change merged and the row
 * read all come from this table. `satisfies` makes a field added to `CallRecord` without a column
 * here a compile error. Columns this version does not know (a newer version's) are ignored when
 * reading; a known column of another type makes the row unreadable.
 */
const COLUMNS = {
  state: asIs(z.enum(CALL_STATES, { error: (issue) => `"${String(issue.input)}" is not a call state` })),
  createdAt: asIs(z.date()),
  keepAliveFailures: asIs(count),
  direction: asIs(z.string()),
  tenantId: asIs(z.string()),
  source: asJson(jsonObject),
  chatInfo: asJson(jsonObject),
  meetingInfo: asJson(jsonObject),
  establishedAt: asIs(z.date()),
  lastKeepAliveAt: asIs(z.date()),
  joinInfo: asJson(joinInfo),
  myParticipantId: asIs(z.string()),
  participantCount: asIs(count),
  alone: asIs(z.boolean()),
  aloneSince: asIs(z.date()),
  hangUpRequestedAt: asIs(z.date()),
  endedAt: asIs(z.date()),
  claim: asIs(z.string()),
  rejoinAttempts: asIs(count),
  rejoinedFrom: asIs(z.string()),
  handledParticipants: asIs(count),
  policyRecording: asIs(z.boolean()),
  outgoing: asJson(outgoing),
  prompt: asJson(prompt),
  tones: asJson(tones),
  toneSubscribedAt: asIs(z.date()),
  keepAlivesSent: asIs(count),
} satisfies { [K in keyof Omit<CallRecord, 'callId'>]-?: Column<NonNullable<CallRecord[K]>> };

type ColumnName = keyof typeof COLUMNS;
const REQUIRED: ReadonlySet<ColumnName> = new Set(['state', 'createdAt', 'keepAliveFailures']);
const COLUMN_NAMES = Object.keys(COLUMNS) as ColumnName[];

const callRow = z.object({
  rowKey: z.string(),
  etag: z.string(),
  ...Object.fromEntries(COLUMN_NAMES.map((name) => [name, REQUIRED.has(name) ? COLUMNS[name].read : z.optional(COLUMNS[name].read)])),
});

/** A call's row in Table Storage, as written. */
export type CallEntity = { partitionKey: string; rowKey: string } & Partial<Record<ColumnName, unknown>>;

/** The columns for the fields given (undefined and null ones left out). */
function columnsOf(fields: Partial<Record<ColumnName, unknown>>): Partial<Record<ColumnName, unknown>> {
  const columns: Partial<Record<ColumnName, unknown>> = {};
  for (const name of COLUMN_NAMES) {
    const value = fields[name];
    if (value !== undefined && value !== null) columns[name] = (COLUMNS[name].write as (value: unknown) => unknown)(value);
  }
  return columns;
}

/**
 * A row as a call, or, when this version cannot read it (another version's state, a hand edit, bad
 * JSON in a column, a column of the wrong type), what is wrong with it. Never throws: one bad row
 * must not stop the reading of the others.
 */
export function readCallEntity(entity: TableEntityResult<Record<string, unknown>>): ReadRow {
  const parsed = callRow.safeParse(entity);
  if (parsed.success) {
    const { rowKey, ...call } = parsed.data;
    // The schema is built from COLUMNS, which `satisfies` ties to CallRecord field by field.
    return { ok: true, call: { callId: rowKey, ...call } as StoredCall };
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
  return { partitionKey: partitionKeyOf(call.callId), rowKey: call.callId, ...columnsOf(call) };
}

/** The columns a change sets (a Merge writes only these); a cleared column is not among them. */
export function changeEntity(callId: string, change: CallChange): CallEntity {
  return { ...columnsOf(change), partitionKey: partitionKeyOf(callId), rowKey: callId };
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
