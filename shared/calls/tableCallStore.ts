import { odata, RestError, TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import pLimit from 'p-limit';
import { applyChange, changeEntity, clearedColumns, readCallEntity, storedColumns, toEntity, type ReadRow } from './callEntity.js';
import {
  keepAliveChange,
  UnreadableCallError,
  type CallChange,
  type CallPage,
  type CallRecord,
  type CallRows,
  type CallStore,
  type DecideChange,
  type KeepAliveResult,
  type PageOptions,
  type RecordedKeepAlives,
  type StoredCall,
  type StoreRequestOptions,
  type UpdateResult,
} from './callStore.js';
import type { StorageAccess } from '../config.js';
import { NO_TOKEN_CREDENTIAL, tableClientFor, tableCreatedOnFirstUse } from '../storage/storageClients.js';
import { isContinuationToken } from '../storage/continuationToken.js';
import { GroupCommit } from '../storage/groupCommit.js';
import { recordInsertBatchFallback } from '../telemetry.js';
import { CALL_PARTITIONS, partitionKeyOf } from './partitionKey.js';

const MAX_WRITE_ATTEMPTS = 8;
const DEFAULT_PAGE_SIZE = 1000;
// Table Storage's limit for an entity group transaction (one partition, at most 100 operations).
const MAX_BATCH_SIZE = 100;
// Batches of one sweep page written at once: enough to hide latency, few enough to stay gentle.
const MAX_BATCHES_IN_FLIGHT = 4;
// A new call's row waits at most this long for its partition's write in flight, then goes alone: a
// write that hangs or is retried (the SDK backs off 1, 2, 4 s on a 503) must not hold back the
// rows behind it, against an answer deadline of 5 s for policy-based recording.
const MAX_INSERT_WAIT_MS = 500;
// A transaction of new rows that takes longer is cut short and its rows inserted alone: a stalled
// connection (or the SDK's back-off) must not cost up to 100 calls their answers.
const MAX_INSERT_TRANSACTION_MS = 1_000;

/** `CallStore` on Azure Table Storage: one row per call, PartitionKey = shard, RowKey = call id. */
export interface TableCallStoreOptions {
  /** Rows per request when only keys are read (counting). Tests make it small to count with few rows. */
  keyPageSize?: number;
}

export class TableCallStore implements CallStore {
  private readonly ensureTable: () => Promise<void>;
  private readonly keyPageSize: number;
  /**
   * New calls' rows, a partition at a time: a burst of incoming calls is stored in a few entity
   * group transactions instead of a request each, which is what held its answers back (the Table
   * service and the app's CPU, docs/performance.md). A lone call's row goes at once, alone.
   */
  private readonly inserts = new GroupCommit<CallRecord, 'inserted' | 'exists'>({
    maxBatch: MAX_BATCH_SIZE,
    maxWaitMs: MAX_INSERT_WAIT_MS,
    // Rows cut short this way are inserted alone: if the transaction did land, each gets 409 and
    // its caller tells its own row by the claim.
    maxSharedMs: MAX_INSERT_TRANSACTION_MS,
    onSharedFailure: (error) => recordInsertBatchFallback(statusOf(error)),
    one: (call, abortSignal) => this.insertOne(call, { abortSignal }),
    many: async (calls, abortSignal) => {
      await this.client.submitTransaction(
        calls.map((call): TransactionAction => ['create', toEntity(call)]),
        { abortSignal },
      );
      return calls.map(() => 'inserted' as const);
    },
  });

  constructor(
    private readonly client: TableClient,
    { keyPageSize = DEFAULT_PAGE_SIZE }: TableCallStoreOptions = {},
  ) {
    this.ensureTable = tableCreatedOnFirstUse(client);
    this.keyPageSize = keyPageSize;
  }

  /** A store on the table that `access` reaches; `credential` is used only for managed-identity access. */
  static open(access: StorageAccess, tableName: string, credential: () => TokenCredential): TableCallStore {
    return new TableCallStore(tableClientFor(access, tableName, credential));
  }

  static fromConnectionString(connectionString: string, tableName: string): TableCallStore {
    return TableCallStore.open({ kind: 'connectionString', connectionString }, tableName, NO_TOKEN_CREDENTIAL);
  }

  prepare(): Promise<void> {
    return this.ensureTable();
  }

  async get(callId: string, options: StoreRequestOptions = {}): Promise<StoredCall | undefined> {
    await this.ensureTable();
    return readable(await this.getRow(callId, options));
  }

  /** The row as stored, or undefined when there is none. */
  private async getRow(callId: string, options: StoreRequestOptions = {}): Promise<TableEntityResult<Record<string, unknown>> | undefined> {
    try {
      return await this.client.getEntity<Record<string, unknown>>(partitionKeyOf(callId), callId, options);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async insert(call: CallRecord, options: StoreRequestOptions = {}): Promise<'inserted' | 'exists'> {
    await this.ensureTable();
    return this.inserts.submit(partitionKeyOf(call.callId), call, options.abortSignal);
  }

  private async insertOne(call: CallRecord, options: StoreRequestOptions): Promise<'inserted' | 'exists'> {
    try {
      await this.client.createEntity(toEntity(call), options);
      return 'inserted';
    } catch (error) {
      if (statusOf(error) === 409) return 'exists';
      throw error;
    }
  }

  async update(callId: string, decide: DecideChange, known?: StoredCall): Promise<UpdateResult> {
    await this.ensureTable();
    let current = known ?? (await this.get(callId));
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      if (!current) return { outcome: 'missing' };
      const change = decide(current);
      if (!change) return { outcome: 'unchanged', call: current };
      try {
        const written = await this.write(callId, change, current);
        if (written === 'missing') return { outcome: 'missing' };
        if (written !== 'changed') return { outcome: 'updated', call: { ...applyChange(current, change), etag: written.etag } };
        current = await this.get(callId);
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return { outcome: 'missing' };
        if (status !== 412) throw error;
        current = await this.get(callId);
      }
    }
    throw new Error(`Call ${callId}: gave up after ${MAX_WRITE_ATTEMPTS} conflicting writes`);
  }

  /**
   * Writes a change under the ETag `current` was read with: fails with 412 if another writer got
   * there first, and with 404 if the row was deleted (a write never creates a row, so nothing is
   * resurrected). `changed`: the row is no longer the one `current` was read from.
   */
  private async write(callId: string, change: CallChange, current: StoredCall): Promise<{ etag: string } | 'changed' | 'missing'> {
    const cleared = clearedColumns(change);
    if (cleared.length === 0) {
      const { etag } = await this.client.updateEntity(changeEntity(callId, change), 'Merge', { etag: current.etag });
      return { etag: etag ?? current.etag };
    }
    // A Merge cannot remove a column (https://learn.microsoft.com/en-us/rest/api/storageservices/merge-entity),
    // so the row is replaced whole: from the columns as stored, so that columns this version does
    // not know (a newer version's) are kept, under the same ETag.
    const stored = await this.getRow(callId);
    if (!stored) return 'missing';
    if (stored.etag !== current.etag) return 'changed';
    const columns: Record<string, unknown> = { ...storedColumns(stored), ...changeEntity(callId, change) };
    for (const column of cleared) delete columns[column];
    const entity = { ...columns, partitionKey: partitionKeyOf(callId), rowKey: callId };
    const { etag } = await this.client.updateEntity(entity, 'Replace', { etag: current.etag });
    return { etag: etag ?? current.etag };
  }

  async remove(callId: string): Promise<'removed' | 'missing'> {
    await this.ensureTable();
    try {
      await this.client.deleteEntity(partitionKeyOf(callId), callId);
      return 'removed';
    } catch (error) {
      if (statusOf(error) === 404) return 'missing';
      throw error;
    }
  }

  async *pages({ pageSize = DEFAULT_PAGE_SIZE, partition }: PageOptions = {}): AsyncIterable<CallRows> {
    await this.ensureTable();
    const queryOptions = partition === undefined ? {} : { filter: odata`PartitionKey eq ${partition}` };
    const entities = this.client.listEntities<Record<string, unknown>>({ queryOptions });
    for await (const page of entities.byPage({ maxPageSize: pageSize })) {
      yield rowsOf(page);
    }
  }

  async recordKeepAliveResults(results: readonly KeepAliveResult[]): Promise<RecordedKeepAlives> {
    await this.ensureTable();
    const tally: RecordedKeepAlives = { written: 0, missing: 0 };
    const limit = pLimit(MAX_BATCHES_IN_FLIGHT);
    await Promise.all(batchesOf(results).map((batch) => limit(() => this.writeBatch(batch, tally))));
    return tally;
  }

  async countUpTo(limit: number, signal?: AbortSignal): Promise<number> {
    await this.ensureTable();
    // The partitions are counted side by side: a handful of parallel key-only reads instead of
    // one sequential read per 1000 calls, so deciding how to sweep does not delay the sweep. They
    // share one running total, so every partition stops once the total reaches the limit: the cost
    // is about limit / page size requests plus the one page each partition may have in flight.
    const tally = { total: 0 };
    await Promise.all(CALL_PARTITIONS.map((partition) => this.countPartition(partition, limit, tally, signal)));
    return Math.min(limit, tally.total);
  }

  private async countPartition(partition: string, limit: number, tally: { total: number }, signal: AbortSignal | undefined): Promise<void> {
    if (tally.total >= limit) return;
    const keysOnly = this.client.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${partition}`, select: ['RowKey'] },
      abortSignal: signal,
    });
    for await (const page of keysOnly.byPage({ maxPageSize: this.keyPageSize })) {
      tally.total += page.length;
      if (tally.total >= limit) return;
      // A caller that gave up is not served by the pages after: they would only compete with its work.
      signal?.throwIfAborted();
    }
  }

  private async writeBatch(batch: readonly KeepAliveResult[], tally: RecordedKeepAlives): Promise<void> {
    if (batch.length > 1) {
      const actions: TransactionAction[] = batch.map((result) => [
        'update',
        changeEntity(result.call.callId, keepAliveChange(result, result.call)),
        'Merge',
        { etag: result.call.etag },
      ]);
      try {
        await this.client.submitTransaction(actions);
        tally.written += batch.length;
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 404 && status !== 412) throw error;
      }
    }
    // A transaction is all or nothing: one row that changed (412) or vanished (404) since the sweep
    // read it refuses the whole batch. Write the rows one by one instead: a changed row is re-read
    // and written again, a vanished one is left gone, and the others' results are kept.
    for (const result of batch) {
      const outcome = await this.update(result.call.callId, (current) => keepAliveChange(result, current), result.call);
      if (outcome.outcome === 'missing') tally.missing++;
      else tally.written++;
    }
  }

  async listPage(pageSize: number, continuationToken?: string): Promise<CallPage | 'invalidToken'> {
    if (continuationToken !== undefined && !isContinuationToken(continuationToken)) return 'invalidToken';
    await this.ensureTable();
    const pages = this.client.listEntities<Record<string, unknown>>().byPage({ maxPageSize: pageSize, continuationToken });
    for await (const page of pages) {
      return { ...rowsOf(page), continuationToken: page.continuationToken };
    }
    return { calls: [], unreadable: [], continuationToken: undefined };
  }

  countActive(signal?: AbortSignal): Promise<number> {
    return this.countUpTo(Number.MAX_SAFE_INTEGER, signal);
  }
}

/** Groups results into entity group transactions: one partition each, at most `MAX_BATCH_SIZE` rows. */
function batchesOf(results: readonly KeepAliveResult[]): KeepAliveResult[][] {
  const byPartition = new Map<string, KeepAliveResult[]>();
  for (const result of results) {
    const partition = partitionKeyOf(result.call.callId);
    const group = byPartition.get(partition) ?? [];
    group.push(result);
    byPartition.set(partition, group);
  }
  const batches: KeepAliveResult[][] = [];
  for (const group of byPartition.values()) {
    for (let i = 0; i < group.length; i += MAX_BATCH_SIZE) batches.push(group.slice(i, i + MAX_BATCH_SIZE));
  }
  return batches;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/** A page's rows, read one by one: a row that cannot be read is set apart, the others are kept. */
function rowsOf(entities: readonly TableEntityResult<Record<string, unknown>>[]): CallRows {
  const rows: CallRows = { calls: [], unreadable: [] };
  for (const entity of entities) {
    const row = readCallEntity(entity);
    if (row.ok) rows.calls.push(row.call);
    else rows.unreadable.push(row.unreadable);
  }
  return rows;
}

function readable(entity: TableEntityResult<Record<string, unknown>> | undefined): StoredCall | undefined {
  if (!entity) return undefined;
  const row: ReadRow = readCallEntity(entity);
  if (!row.ok) throw new UnreadableCallError(row.unreadable);
  return row.call;
}
