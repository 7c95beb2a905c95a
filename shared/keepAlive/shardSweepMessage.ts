import { z } from 'zod';
import { isCallPartition } from '../calls/partitionKey.js';

/** One unit of a fanned-out sweep: keep the calls of one partition alive. */
export interface ShardSweepMessage {
  shard: string;
  /** When the timer handed the sweep out; lets a late shard sweep say how late it is. */
  sweepStartedAt: string;
}

const messageSchema = z.object({
  shard: z.string().refine(isCallPartition, { error: 'is not a call partition' }),
  sweepStartedAt: z.iso.datetime(),
});

export type ParsedShardMessage = { ok: true; message: ShardSweepMessage } | { ok: false; reason: string };

/**
 * The queue trigger hands over a JSON message already parsed, and anything else as text;
 * both are accepted, and anything that is not a shard sweep message is refused with a reason.
 */
export function parseShardSweepMessage(input: unknown): ParsedShardMessage {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'message is not JSON' };
    }
  }
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'message'} ${i.message}`).join('; ') };
  }
  return { ok: true, message: parsed.data };
}
