import type * as z from '../schema.js';

export type ParsedQueueMessage<T> = { ok: true; message: T } | { ok: false; reason: string };

/**
 * A queue trigger hands over a JSON message already parsed, and anything else as text; both are
 * accepted, and anything that does not fit `schema` is refused with a reason.
 */
export function parseQueueMessage<T>(input: unknown, schema: z.ZodMiniType<T>): ParsedQueueMessage<T> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'message is not JSON' };
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'message'} ${i.message}`).join('; ') };
  }
  return { ok: true, message: parsed.data };
}
