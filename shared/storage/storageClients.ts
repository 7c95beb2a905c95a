import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { QueueClient, StoragePipelineOptions } from '@azure/storage-queue';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { StorageAccess } from '../config.js';

// Without a socket limit, a burst of incoming calls opens a connection per call; a bounded
// keep-alive pool reuses warm connections and queues the rest (docs/performance.md).
const TABLE_AGENT_OPTIONS = { keepAlive: true, maxSockets: 32 };

/** The credential argument for connection-string access, which never asks for a token. */
export const NO_TOKEN_CREDENTIAL = (): TokenCredential => {
  throw new Error('connection-string access needs no token credential');
};

/**
 * A Table client for one table, by connection string or by endpoint and managed identity
 * (`credential` is only asked for a token in the second case).
 */
export function tableClientFor(access: StorageAccess, tableName: string, credential: () => TokenCredential): TableClient {
  if (access.kind === 'managedIdentity') {
    return new TableClient(access.endpoint, tableName, credential(), { agent: agentFor(access.endpoint) });
  }
  const { connectionString } = access;
  // Azurite (and any other plain-http endpoint) needs this opt-in; Azure endpoints are https.
  const options: TableServiceClientOptions = {
    allowInsecureConnection: /UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;|Endpoint=http:\/\//i.test(connectionString),
  };
  const { url } = TableClient.fromConnectionString(connectionString, tableName, options);
  return TableClient.fromConnectionString(connectionString, tableName, { ...options, agent: agentFor(url) });
}

// Every use of a table waits for its creation, and the SDK sets no time limit of its own: an
// attempt stalled on a connection that never answers would hold the table until the system gave up.
const TABLE_CREATE_TIMEOUT_MS = 10_000;

/**
 * The table is created on first use (createTable is a no-op when it exists); a failed or stalled
 * attempt (none answers within `timeoutMs`) is forgotten, so the next use tries again.
 */
export function tableCreatedOnFirstUse(client: TableClient, timeoutMs = TABLE_CREATE_TIMEOUT_MS): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () =>
    (ready ??= client.createTable({ abortSignal: AbortSignal.timeout(timeoutMs) }).catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));
}

/**
 * A Queue client for one queue, by connection string or by endpoint and managed identity. The
 * queue SDK is loaded on first use: only a meeting's end or a join writes to a queue, and no
 * cold instance's first answer should wait for it to load.
 */
export async function queueClientFor(
  access: StorageAccess,
  queueName: string,
  credential: () => TokenCredential,
  options: StoragePipelineOptions = {},
): Promise<QueueClient> {
  const { QueueClient } = await import('@azure/storage-queue');
  if (access.kind === 'managedIdentity') return new QueueClient(`${access.endpoint}/${queueName}`, credential(), options);
  return new QueueClient(access.connectionString, queueName, options);
}

function agentFor(url: string): HttpAgent {
  return new URL(url).protocol === 'http:' ? new HttpAgent(TABLE_AGENT_OPTIONS) : new HttpsAgent(TABLE_AGENT_OPTIONS);
}
