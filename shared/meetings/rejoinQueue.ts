import type { TokenCredential } from '@azure/identity';
import type { QueueClient } from '@azure/storage-queue';
import * as z from '../schema.js';
import type { StorageAccess } from '../config.js';
import { parseQueueMessage, type ParsedQueueMessage } from '../storage/queueMessage.js';
import { queueClientFor } from '../storage/storageClients.js';

export const REJOIN_QUEUE_NAME = 'meeting-rejoins';

// A rejoin is scheduled inside a notification's request: when the queue is down, the notification
// is better answered 5xx soon (Graph redelivers it) than held through the SDK's default retries.
const REJOIN_QUEUE_OPTIONS = { retryOptions: { maxTries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 1000, tryTimeoutInMs: 5000 } };

/** One rejoin attempt for a meeting whose call ended abnormally. */
export interface RejoinAttempt {
  /** The call that ended (the new call names it as `rejoinedFrom`). */
  callId: string;
  joinInfo: { chatInfo?: Record<string, unknown> | undefined; meetingInfo: Record<string, unknown>; tenantId: string };
  /** 1-based, counted since the meeting was last established. */
  attempt: number;
}

/**
 * The meeting queue's messages: a rejoin attempt, or the settling of a join some minutes after it
 * was asked for (see `settlePendingJoin`), which may carry the rejoin attempt to make if the join
 * turns out never to have made a call.
 */
export type RejoinMessage = ({ kind: 'rejoin' } & RejoinAttempt) | { kind: 'settleJoin'; joinId: string; next?: RejoinAttempt | undefined };

/**
 * Rejoins wait out their backoff as a queue message's visibility delay, not as a sleep inside a
 * request: a notification is answered at once, and an instance that dies meanwhile loses nothing
 * (the message becomes visible and another instance takes it).
 */
export interface RejoinQueue {
  schedule(message: RejoinMessage, delaySeconds: number): Promise<void>;
}

export class StorageRejoinQueue implements RejoinQueue {
  private client: Promise<QueueClient> | undefined;

  /** The queue name is fixed in production (the trigger binds to it); tests use their own. */
  constructor(
    private readonly access: StorageAccess,
    private readonly credential: () => TokenCredential,
    private readonly queueName = REJOIN_QUEUE_NAME,
  ) {}

  async schedule(message: RejoinMessage, delaySeconds: number): Promise<void> {
    this.client ??= this.open();
    let queue: QueueClient;
    try {
      queue = await this.client;
    } catch (error) {
      this.client = undefined; // the next rejoin tries again
      throw error;
    }
    // base64: what the queue trigger expects (host.json messageEncoding).
    await queue.sendMessage(Buffer.from(JSON.stringify(message), 'utf8').toString('base64'), {
      visibilityTimeout: Math.max(0, Math.round(delaySeconds)),
    });
  }

  private async open(): Promise<QueueClient> {
    const queue = await queueClientFor(this.access, this.queueName, this.credential, REJOIN_QUEUE_OPTIONS);
    await queue.createIfNotExists();
    return queue;
  }
}

const jsonObject = z.record(z.string(), z.unknown());
const rejoinAttemptSchema = z.object({
  callId: z.string().check(z.minLength(1)),
  joinInfo: z.object({ chatInfo: z.optional(jsonObject), meetingInfo: jsonObject, tenantId: z.string().check(z.minLength(1)) }),
  attempt: z.int().check(z.minimum(1)),
});
const rejoinMessageSchema = z.discriminatedUnion('kind', [
  z.extend(rejoinAttemptSchema, { kind: z.literal('rejoin') }),
  z.object({ kind: z.literal('settleJoin'), joinId: z.string().check(z.minLength(1)), next: z.optional(rejoinAttemptSchema) }),
]);

export type ParsedRejoinMessage = ParsedQueueMessage<RejoinMessage>;

export function parseRejoinMessage(input: unknown): ParsedRejoinMessage {
  return parseQueueMessage(input, rejoinMessageSchema);
}
