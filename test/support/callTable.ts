import { TableClient } from '@azure/data-tables';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { CALL_PARTITIONS, partitionKeyOf } from '../../shared/calls/partitionKey.js';
import type { Runtime } from '../../functions/app/runtime.js';

/**
 * Writes columns straight into a call's row, past the app's store, as another version of the app
 * or a hand edit in Storage Explorer would: a state this version does not know, bad JSON, a date
 * stored as text.
 */
export async function writeRawColumns(runtime: Runtime, callId: string, columns: Record<string, unknown>): Promise<void> {
  const client = TableClient.fromConnectionString(inject('storageConnectionString'), runtime.config.callsTable.tableName, {
    allowInsecureConnection: true,
  });
  await client.updateEntity({ partitionKey: partitionKeyOf(callId), rowKey: callId, ...columns }, 'Merge');
}

/** Call ids that all land in one partition, so their rows can share a transaction. */
export function idsInOnePartition(count: number, partition = CALL_PARTITIONS[3]!): string[] {
  const ids: string[] = [];
  while (ids.length < count) {
    const id = randomUUID();
    if (partitionKeyOf(id) === partition) ids.push(id);
  }
  return ids;
}
