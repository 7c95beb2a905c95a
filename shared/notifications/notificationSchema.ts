import { z } from 'zod';

// The shapes Graph posts to the bot's callback (answer and create-call seeds). Only the fields
// the bot acts on are typed; everything else passes through untouched so it can be stored.

export const resultInfoSchema = z.looseObject({
  code: z.number().int().optional(),
  subcode: z.number().int().optional(),
  message: z.string().optional(),
});

export type ResultInfo = z.infer<typeof resultInfoSchema>;

const jsonObject = z.record(z.string(), z.unknown());

export const callResourceDataSchema = z.looseObject({
  '@odata.type': z.string().optional(),
  id: z.string().optional(),
  state: z.string().optional(),
  direction: z.string().optional(),
  tenantId: z.string().optional(),
  source: jsonObject.optional(),
  chatInfo: jsonObject.nullable().optional(),
  meetingInfo: jsonObject.nullable().optional(),
  resultInfo: resultInfoSchema.nullable().optional(),
  // Present on policy-based recording invitations (answer seed, example 3).
  applicationMetadata: jsonObject.optional(),
});

export type CallResourceData = z.infer<typeof callResourceDataSchema>;

export const commsNotificationSchema = z.looseObject({
  '@odata.type': z.string().optional(),
  changeType: z.enum(['created', 'updated', 'deleted']),
  resourceUrl: z.string().min(1),
  // Sub-resource notifications (participants, content sharing) carry a collection.
  resourceData: z.union([jsonObject, z.array(jsonObject)]).optional(),
});

export type CommsNotification = z.infer<typeof commsNotificationSchema>;

export const commsNotificationsSchema = z.looseObject({
  '@odata.type': z.literal('#microsoft.graph.commsNotifications').optional(),
  value: z.array(commsNotificationSchema).min(1),
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
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    return { ok: false, reason: `not a commsNotifications body: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, batch: parsed.data };
}
