import * as z from '../schema.js';
import type { CallSource, OutgoingCall, OutgoingTarget } from './outgoingCall.js';

/**
 * The body of `POST /api/calls/outgoing`, checked and turned into an `OutgoingCall`. Pure: every 400
 * reason is decided here, before anything is asked of Graph.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// E.164: a plus and up to 15 digits; 7 is the shortest number a PSTN route takes.
const E164 = /^\+[1-9]\d{6,14}$/;
// Graph's group call takes up to five VoIP users (https://learn.microsoft.com/en-us/graph/api/application-post-calls, group call example).
export const MAX_TARGETS = 5;
// Graph keeps a clientContext of at most 256 characters (https://learn.microsoft.com/en-us/graph/api/call-playprompt).
const MAX_CLIENT_CONTEXT = 256;

const userTarget = z.strictObject({
  userId: z.string().check(z.trim(), z.regex(GUID, { error: 'must be an Entra object id (GUID)' })),
  tenantId: z.optional(z.string().check(z.trim(), z.regex(GUID, { error: 'must be a tenant id (GUID)' }))),
  displayName: z.optional(
    z
      .string()
      .check(z.trim(), z.minLength(1, { error: 'must not be empty' }), z.maxLength(256, { error: 'must be at most 256 characters' })),
  ),
});
const phoneTarget = z.strictObject({
  phone: z.string().check(z.regex(E164, { error: 'must be an E.164 number: + and 7 to 15 digits, no spaces (e.g. +14255550123)' })),
});

/** A field that may be left out or be null. */
const absentOrNull = <T extends z.core.SomeType>(schema: T) => z.nullable(z.optional(schema));

const outgoingBodySchema = z.strictObject({
  targets: z
    .array(z.unknown(), { error: 'must be a list of targets' })
    .check(
      z.minLength(1, { error: 'must name at least one target' }),
      z.maxLength(MAX_TARGETS, { error: `must name at most ${MAX_TARGETS} targets (a group call takes up to ${MAX_TARGETS} users)` }),
    ),
  prompt: absentOrNull(z.url({ protocol: /^https$/, error: 'must be an https URL of a WAV file that Graph can fetch' })),
  collectTone: absentOrNull(z.boolean({ error: 'must be true or false' })),
  hangUpAfter: absentOrNull(z.enum(['prompt', 'tone'], { error: 'must be "prompt", "tone" or null' })),
  clientContext: absentOrNull(
    z.string().check(z.maxLength(MAX_CLIENT_CONTEXT, { error: `must be at most ${MAX_CLIENT_CONTEXT} characters` })),
  ),
});

/** The bot's side of a call: its app id, and for phone calls the application instance with a number. */
export interface OutgoingCallSettings {
  botAppId: string;
  botTenantId: string;
  pstn: { applicationInstanceId: string; displayName: string | undefined } | undefined;
}

export type OutgoingRequestResult = { ok: true; call: OutgoingCall } | { ok: false; reason: string };

export function parseOutgoingCallRequest(body: unknown, settings: OutgoingCallSettings): OutgoingRequestResult {
  const parsed = outgoingBodySchema.safeParse(body);
  if (!parsed.success) return fail(describeIssue(parsed.error, 'expected targets, prompt, collectTone, hangUpAfter, clientContext'));
  const { prompt, collectTone, hangUpAfter, clientContext } = parsed.data;

  const targets: OutgoingTarget[] = [];
  for (const [index, raw] of parsed.data.targets.entries()) {
    const target = parseTarget(raw, index);
    if (!target.ok) return target;
    targets.push(target.target);
  }
  const phones = targets.filter((t) => t.kind === 'phone');
  const users = targets.filter((t) => t.kind === 'user');
  if (phones.length > 0 && users.length > 0)
    return fail('targets mix phone numbers and users; a call goes to users or to one phone number');
  if (phones.length > 1) return fail('a call to a phone number is peer-to-peer: give one phone target');
  const ids = new Set(users.map((u) => u.userId.toLowerCase()));
  if (ids.size < users.length) return fail('targets name the same user twice');
  // A user without a tenantId is looked up in the bot's tenant: that counts as a tenant too.
  const tenants = new Set(users.map((u) => (u.tenantId ?? settings.botTenantId).toLowerCase()));
  if (tenants.size > 1) {
    return fail(
      'user targets are in different tenants (a target without tenantId is in the bot tenant); Graph places a call in one tenant',
    );
  }

  if (hangUpAfter === 'prompt' && !prompt) return fail('hangUpAfter is "prompt" but no prompt is given');
  if (hangUpAfter === 'tone' && collectTone !== true) return fail('hangUpAfter is "tone" but collectTone is not true');

  let source: CallSource = { kind: 'application', id: settings.botAppId };
  if (phones.length > 0) {
    if (!settings.pstn) {
      return fail('calling a phone number needs an application instance with a phone number: set PSTN_APPLICATION_INSTANCE_ID');
    }
    source = { kind: 'applicationInstance', id: settings.pstn.applicationInstanceId, displayName: settings.pstn.displayName };
  }
  const [userTenant] = users.map((u) => u.tenantId).filter((t) => t !== undefined);
  return {
    ok: true,
    call: {
      targets,
      tenantId: userTenant ?? settings.botTenantId,
      source,
      ...(prompt ? { prompt } : {}),
      collectTone: collectTone === true,
      ...(hangUpAfter ? { hangUpAfter } : {}),
      ...(clientContext !== undefined && clientContext !== null ? { clientContext } : {}),
    },
  };
}

function parseTarget(raw: unknown, index: number): { ok: true; target: OutgoingTarget } | { ok: false; reason: string } {
  const where = `targets[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`${where} must be an object with userId or phone`);
  if ('phone' in raw && 'userId' in raw) return fail(`${where} gives both userId and phone; give one`);
  if ('phone' in raw) {
    const phone = phoneTarget.safeParse(raw);
    return phone.success
      ? { ok: true, target: { kind: 'phone', phone: phone.data.phone } }
      : fail(describeIssue(phone.error, 'a phone target has only phone', where));
  }
  if (!('userId' in raw)) return fail(`${where} must have userId (a Teams user) or phone (an E.164 number)`);
  const user = userTarget.safeParse(raw);
  if (!user.success) return fail(describeIssue(user.error, 'a user target has userId, tenantId and displayName', where));
  const { userId, tenantId, displayName } = user.data;
  return { ok: true, target: { kind: 'user', userId, ...(tenantId ? { tenantId } : {}), ...(displayName ? { displayName } : {}) } };
}

function describeIssue(error: z.core.$ZodError, expected: string, prefix?: string): string {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((p) => p !== undefined && p !== '').join('.');
  if (issue?.code === 'unrecognized_keys') {
    return `${path ? `${path}: ` : ''}unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; ${expected}`;
  }
  if (path === '') return 'body must be a JSON object';
  return `${path} ${issue?.message ?? 'is invalid'}`;
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
