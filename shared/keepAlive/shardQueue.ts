import { QueueClient } from '@azure/storage-queue';
import type { ShardSweepMessage } from './shardSweepMessage.js';

export const SHARD_QUEUE_NAME = 'keepalive-shards';
// The Functions host moves a message here after its last failed attempt (maxDequeueCount).
export const SHARD_POISON_QUEUE_NAME = `${SHARD_QUEUE_NAME}-poison`;
/** Must match `extensions.queues.maxDequeueCount` in host.json. */
export const SHARD_MAX_DEQUEUE_COUNT = 5;

/** The queue that spreads one sweep over instances, one message per partition. */
export interface ShardQueue {
  enqueue(messages: readonly ShardSweepMessage[]): Promise<void>;
  /** Parks a message no attempt could ever process, so it is not retried. */
  sendToPoison(rawMessage: string): Promise<void>;
}

export class StorageShardQueue implements ShardQueue {
  private readonly queue: QueueClient;
  private readonly poison: QueueClient;
  private ready: Promise<void> | undefined;

  /** The queue name is fixed in production (the trigger binds to it); tests use their own. */
  constructor(connectionString: string, queueName = SHARD_QUEUE_NAME) {
    this.queue = new QueueClient(connectionString, queueName);
    this.poison = new QueueClient(connectionString, `${queueName}-poison`);
  }

  async enqueue(messages: readonly ShardSweepMessage[]): Promise<void> {
    await this.ensureQueues();
    await Promise.all(messages.map((message) => this.queue.sendMessage(encode(JSON.stringify(message)))));
  }

  async sendToPoison(rawMessage: string): Promise<void> {
    await this.ensureQueues();
    await this.poison.sendMessage(encode(rawMessage));
  }

  private ensureQueues(): Promise<void> {
    this.ready ??= Promise.all([this.queue.createIfNotExists(), this.poison.createIfNotExists()]).then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }
}

// The queue trigger expects base64 message text by default (host.json messageEncoding).
function encode(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
