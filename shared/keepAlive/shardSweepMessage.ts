import * as z from '../schema.js';
import { isCallPartition } from '../calls/partitionKey.js';
import { parseQueueMessage, type ParsedQueueMessage } from '../storage/queueMessage.js';

/** One unit of a fanned-out sweep: keep the calls of one partition alive. */
export interface ShardSweepMessage {
  shard: string;
  /** When the timer handed the sweep out; lets a late shard sweep say how late it is. */
  sweepStartedAt: string;
}

const messageSchema = z.object({
  shard: z.string().check(z.refine(isCallPartition, { error: 'is not a call partition' })),
  sweepStartedAt: z.iso.datetime(),
});

export type ParsedShardMessage = ParsedQueueMessage<ShardSweepMessage>;

export function parseShardSweepMessage(input: unknown): ParsedShardMessage {
  return parseQueueMessage(input, messageSchema);
}
