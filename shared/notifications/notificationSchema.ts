import * as z from '../schema.js';
import { CALL_STATES } from '../calls/callState.js';

// The shapes Graph posts to the bot's callback
// (https://learn.microsoft.com/en-us/graph/api/resources/commsnotifications). Only the fields the
// bot acts on are typed; everything else passes through untouched so it can be stored.
//
// Two habits of real deliveries are absorbed here, so the rest of the code never sees them:
// - `null` where a field is absent (`"source": null`, `"tenantId": null`): read as absent.
// - enum values spelled in another case (`"changeType": "Updated"`, `"state": "Established"`):
//   read as Graph's canonical spelling (`updated`, `established`).

/** `schema`, or absent when the field is missing or `null`. */
function absentIfNull<T extends z.core.SomeType>(schema: T): z.core.$ZodPreprocess<z.ZodMiniOptional<T>> {
  // zod/mini has no preprocess; a pipe from a transform is one, typed as zod's core types it.
  const nullAsAbsent = z.transform((value: unknown): unknown => (value === null ? undefined : value));
  return z.pipe(nullAsAbsent, z.optional(schema)) as z.core.$ZodPreprocess<z.ZodMiniOptional<T>>;
}

/** The canonical spelling of `raw` among `values`, compared case-insensitively; undefined if none matches. */
export function canonicalSpelling<T extends string>(values: readonly T[], raw: string): T | undefined {
  const lower = raw.toLowerCase();
  return values.find((value) => value.toLowerCase() === lower);
}

/** A string that is one of `values` in any case, read as its canonical spelling. */
function caseInsensitiveEnum<const T extends string>(values: readonly T[]) {
  return z.pipe(
    z.string(),
    z.transform((raw: string, ctx): T => {
      const canonical = canonicalSpelling(values, raw);
      if (canonical === undefined) {
        ctx.issues.push({ code: 'invalid_value', values: [...values], input: raw, message: `expected one of ${values.join(', ')}` });
        return z.NEVER;
      }
      return canonical;
    }),
  );
}

/** A string read as its canonical spelling when it is one of `values`, and kept as it is otherwise. */
function knownSpelling<T extends string>(values: readonly T[]) {
  return z.pipe(
    z.string(),
    z.transform((raw: string): string => canonicalSpelling(values, raw) ?? raw),
  );
}

export const CALL_DIRECTIONS = ['incoming', 'outgoing'] as const;
export const CHANGE_TYPES = ['created', 'updated', 'deleted'] as const;

export const resultInfoSchema = z.looseObject({
  code: absentIfNull(z.int()),
  subcode: absentIfNull(z.int()),
  message: absentIfNull(z.string()),
});

export type ResultInfo = z.infer<typeof resultInfoSchema>;

const jsonObject = z.record(z.string(), z.unknown());

export const callResourceDataSchema = z.looseObject({
  '@odata.type': absentIfNull(z.string()),
  id: absentIfNull(z.string()),
  // An unknown state is kept (and the notification ignored), so a new Graph state is no error.
  state: absentIfNull(knownSpelling(CALL_STATES)),
  direction: absentIfNull(knownSpelling(CALL_DIRECTIONS)),
  tenantId: absentIfNull(z.string()),
  source: absentIfNull(jsonObject),
  chatInfo: absentIfNull(jsonObject),
  meetingInfo: absentIfNull(jsonObject),
  resultInfo: absentIfNull(resultInfoSchema),
  // Present on policy-based recording invitations
  // (https://learn.microsoft.com/en-us/graph/api/call-answer, example 3).
  applicationMetadata: absentIfNull(jsonObject),
  // A key press, once the bot subscribed to tones (https://learn.microsoft.com/en-us/graph/api/call-subscribetotone).
  // Read apart (`toneInfoSchema`): a key press Graph got wrong must not cost the call its state update.
  toneInfo: absentIfNull(z.unknown()),
});

export type CallResourceData = z.infer<typeof callResourceDataSchema>;

export const toneInfoSchema = z.looseObject({ sequenceId: z.int(), tone: z.string().check(z.minLength(1), z.maxLength(16)) });

/**
 * An operation of a call (playPrompt, subscribeToTone, ...) as its notification reports it; a
 * finished one comes with changeType `deleted` (https://learn.microsoft.com/en-us/graph/api/call-playprompt,
 * "Notification - operation completed").
 */
export const operationDataSchema = z.looseObject({
  '@odata.type': absentIfNull(z.string()),
  id: absentIfNull(z.string()),
  status: absentIfNull(knownSpelling(['notStarted', 'running', 'completed', 'failed'])),
  clientContext: absentIfNull(z.string()),
  resultInfo: absentIfNull(resultInfoSchema),
});

export const PARTICIPANT_JOINING_NOTIFICATION = '#microsoft.graph.participantJoiningNotification';

/**
 * A policy-based recording participant about to join a call the bot records
 * (https://learn.microsoft.com/en-us/graph/api/resources/participantjoiningnotification).
 */
export const participantJoiningSchema = z.looseObject({
  '@odata.type': z.string().check(z.refine((type) => type.toLowerCase() === PARTICIPANT_JOINING_NOTIFICATION.toLowerCase())),
  call: absentIfNull(z.looseObject({ tenantId: absentIfNull(z.string()) })),
});

export const commsNotificationSchema = z.looseObject({
  '@odata.type': absentIfNull(z.string()),
  changeType: caseInsensitiveEnum(CHANGE_TYPES),
  resourceUrl: z.string().check(z.minLength(1)),
  // Sub-resource notifications (participants, content sharing) carry a collection.
  resourceData: absentIfNull(z.union([jsonObject, z.array(jsonObject)])),
});

export type CommsNotification = z.infer<typeof commsNotificationSchema>;

/**
 * The envelope only: each entry is checked on its own (`parseNotification`), so one entry Graph
 * got wrong does not cost the others.
 */
export const commsNotificationsSchema = z.looseObject({
  '@odata.type': absentIfNull(
    z.string().check(
      z.refine((type) => type.toLowerCase() === '#microsoft.graph.commsnotifications', {
        message: 'expected #microsoft.graph.commsNotifications',
      }),
    ),
  ),
  value: z.array(z.unknown()).check(z.minLength(1)),
});

export type CommsNotifications = z.infer<typeof commsNotificationsSchema>;

export type ParsedBody = { ok: true; batch: CommsNotifications } | { ok: false; reason: string };

/** Parses a raw request body into a notification batch, or says in a few words why it is not one. */
export function parseNotificationBody(text: string): ParsedBody {
  if (text.trim() === '') return { ok: false, reason: 'empty body' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
  const parsed = commsNotificationsSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `not a commsNotifications body: ${firstIssue(parsed.error)}` };
  return { ok: true, batch: parsed.data };
}

export type ParsedNotification = { ok: true; notification: CommsNotification } | { ok: false; reason: string };

/** Checks one entry of a batch's `value`. */
export function parseNotification(entry: unknown): ParsedNotification {
  const parsed = commsNotificationSchema.safeParse(entry);
  if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error) };
  return { ok: true, notification: parsed.data };
}

/** `path: message` of a schema error's first issue. */
export function firstIssue(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
  return `${where}: ${issue?.message ?? 'invalid'}`;
}
