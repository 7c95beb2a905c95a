import type { TokenCredential } from '@azure/identity';
import type { QueueClient } from '@azure/storage-queue';
import type { StorageAccess } from '../config.js';
import { queueClientFor } from '../storage/storageClients.js';
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
  private clients: { queue: QueueClient; poison: QueueClient; ready: Promise<void> } | undefined;

  /** The queue name is fixed in production (the trigger binds to it); tests use their own. */
  constructor(
    private readonly access: StorageAccess,
    private readonly credential: () => TokenCredential,
    private readonly queueName = SHARD_QUEUE_NAME,
  ) {}

  async enqueue(messages: readonly ShardSweepMessage[]): Promise<void> {
    const { queue } = await this.open();
    await Promise.all(messages.map((message) => queue.sendMessage(encode(JSON.stringify(message)))));
  }

  async sendToPoison(rawMessage: string): Promise<void> {
    const { poison } = await this.open();
    await poison.sendMessage(encode(rawMessage));
  }

  // Built on first use: only a fanned-out sweep needs the queue, and a connection string without
  // a queue endpoint (fine for everything else) must not stop the other functions.
  private async open(): Promise<{ queue: QueueClient; poison: QueueClient }> {
    if (!this.clients) {
      const queue = queueClientFor(this.access, this.queueName, this.credential);
      const poison = queueClientFor(this.access, `${this.queueName}-poison`, this.credential);
      const ready = Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]).then(() => undefined);
      this.clients = { queue, poison, ready };
    }
    const clients = this.clients;
    try {
      await clients.ready;
    } catch (error) {
      this.clients = undefined; // the next message tries again
      throw error;
    }
    return clients;
  }
}

// The queue trigger expects base64 message text by default (host.json messageEncoding).
function encode(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
