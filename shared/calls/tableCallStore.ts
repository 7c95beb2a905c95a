import { odata, RestError, TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import pLimit from 'p-limit';
import { isCallState } from './callState.js';
import {
  keepAliveChange,
  type CallChange,
  type CallPage,
  type CallRecord,
  type CallStore,
  type DecideChange,
  type JoinInfo,
  type KeepAliveResult,
  type PageOptions,
  type RecordedKeepAlives,
  type StoredCall,
  type UpdateResult,
} from './callStore.js';
import type { StorageAccess } from '../config.js';
import { NO_TOKEN_CREDENTIAL, tableClientFor, tableCreatedOnFirstUse } from '../storage/storageClients.js';
import { CALL_PARTITIONS, partitionKeyOf } from './partitionKey.js';

interface CallEntity {
  partitionKey: string;
  rowKey: string;
  state: string;
  createdAt: Date;
  keepAliveFailures: number;
  direction?: string;
  tenantId?: string;
  source?: string;
  chatInfo?: string;
  meetingInfo?: string;
  establishedAt?: Date;
  lastKeepAliveAt?: Date;
  joinInfo?: string;
  myParticipantId?: string;
  participantCount?: number;
  alone?: boolean;
  aloneSince?: Date;
  hangUpRequestedAt?: Date;
  rejoinAttempts?: number;
  rejoinedFrom?: string;
}

const MAX_WRITE_ATTEMPTS = 8;
const DEFAULT_PAGE_SIZE = 1000;
// Table Storage's limit for an entity group transaction (one partition, at most 100 operations).
const MAX_BATCH_SIZE = 100;
// Batches of one sweep page written at once: enough to hide latency, few enough to stay gentle.
const MAX_BATCHES_IN_FLIGHT = 4;

/** `CallStore` on Azure Table Storage: one row per call, PartitionKey = shard, RowKey = call id. */
export interface TableCallStoreOptions {
  /** Rows per request when only keys are read (counting). Tests make it small to count with few rows. */
  keyPageSize?: number;
}

export class TableCallStore implements CallStore {
  private readonly ensureTable: () => Promise<void>;
  private readonly keyPageSize: number;

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

  async get(callId: string): Promise<StoredCall | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.client.getEntity<CallEntity>(partitionKeyOf(callId), callId);
      return fromEntity(entity);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async insert(call: CallRecord): Promise<'inserted' | 'exists'> {
    await this.ensureTable();
    try {
      await this.client.createEntity(toEntity(call));
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
      const next: StoredCall = { ...current, ...withoutUndefined(change) };
      try {
        // Merge under the ETag we read: fails with 412 if another writer got there first, and with
        // 404 if the row was deleted (an update never creates a row, so nothing is resurrected).
        const { etag } = await this.client.updateEntity(changeEntity(callId, change), 'Merge', { etag: current.etag });
        return { outcome: 'updated', call: { ...next, etag: etag ?? current.etag } };
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return { outcome: 'missing' };
        if (status !== 412) throw error;
        current = await this.get(callId);
      }
    }
    throw new Error(`Call ${callId}: gave up after ${MAX_WRITE_ATTEMPTS} conflicting writes`);
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

  async *pages({ pageSize = DEFAULT_PAGE_SIZE, partition }: PageOptions = {}): AsyncIterable<StoredCall[]> {
    await this.ensureTable();
    const queryOptions = partition === undefined ? {} : { filter: odata`PartitionKey eq ${partition}` };
    for await (const page of this.client.listEntities<CallEntity>({ queryOptions }).byPage({ maxPageSize: pageSize })) {
      yield page.map(fromEntity);
    }
  }

  async recordKeepAliveResults(results: readonly KeepAliveResult[]): Promise<RecordedKeepAlives> {
    await this.ensureTable();
    const tally: RecordedKeepAlives = { written: 0, missing: 0 };
    const limit = pLimit(MAX_BATCHES_IN_FLIGHT);
    await Promise.all(batchesOf(results).map((batch) => limit(() => this.writeBatch(batch, tally))));
    return tally;
  }

  async countUpTo(limit: number): Promise<number> {
    await this.ensureTable();
    // The partitions are counted side by side: a handful of parallel key-only reads instead of
    // one sequential read per 1000 calls, so deciding how to sweep does not delay the sweep. They
    // share one running total, so every partition stops once the total reaches the limit: the cost
    // is about limit / page size requests plus the one page each partition may have in flight.
    const tally = { total: 0 };
    await Promise.all(CALL_PARTITIONS.map((partition) => this.countPartition(partition, limit, tally)));
    return Math.min(limit, tally.total);
  }

  private async countPartition(partition: string, limit: number, tally: { total: number }): Promise<void> {
    if (tally.total >= limit) return;
    const keysOnly = this.client.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${partition}`, select: ['RowKey'] },
    });
    for await (const page of keysOnly.byPage({ maxPageSize: this.keyPageSize })) {
      tally.total += page.length;
      if (tally.total >= limit) return;
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
    const pages = this.client.listEntities<CallEntity>().byPage({ maxPageSize: pageSize, continuationToken });
    for await (const page of pages) {
      return { calls: page.map(fromEntity), continuationToken: page.continuationToken };
    }
    return { calls: [], continuationToken: undefined };
  }

  countActive(): Promise<number> {
    return this.countUpTo(Number.MAX_SAFE_INTEGER);
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

// The SDK's token is base64 of {"nextPartitionKey": ..., "nextRowKey": ...}; anything else would
// make it throw deep inside a query, so a caller's token is checked first.
function isContinuationToken(token: string): boolean {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('latin1')) as unknown;
    return typeof (decoded as { nextPartitionKey?: unknown } | null)?.nextPartitionKey === 'string';
  } catch {
    return false;
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function json(value: Record<string, unknown> | undefined): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

function parseJson(value: string | undefined): Record<string, unknown> | undefined {
  return value === undefined ? undefined : (JSON.parse(value) as Record<string, unknown>);
}

function toEntity(call: CallRecord): CallEntity {
  return withoutUndefined({
    partitionKey: partitionKeyOf(call.callId),
    rowKey: call.callId,
    state: call.state,
    createdAt: call.createdAt,
    keepAliveFailures: call.keepAliveFailures,
    direction: call.direction,
    tenantId: call.tenantId,
    source: json(call.source),
    chatInfo: json(call.chatInfo),
    meetingInfo: json(call.meetingInfo),
    establishedAt: call.establishedAt,
    lastKeepAliveAt: call.lastKeepAliveAt,
    joinInfo: json(call.joinInfo),
    myParticipantId: call.myParticipantId,
    participantCount: call.participantCount,
    alone: call.alone,
    aloneSince: call.aloneSince,
    hangUpRequestedAt: call.hangUpRequestedAt,
    rejoinAttempts: call.rejoinAttempts,
    rejoinedFrom: call.rejoinedFrom,
  }) as CallEntity;
}

function changeEntity(callId: string, change: CallChange): Partial<CallEntity> & { partitionKey: string; rowKey: string } {
  return {
    ...withoutUndefined({
      state: change.state,
      keepAliveFailures: change.keepAliveFailures,
      direction: change.direction,
      tenantId: change.tenantId,
      source: json(change.source),
      chatInfo: json(change.chatInfo),
      meetingInfo: json(change.meetingInfo),
      establishedAt: change.establishedAt,
      lastKeepAliveAt: change.lastKeepAliveAt,
      joinInfo: json(change.joinInfo),
      myParticipantId: change.myParticipantId,
      participantCount: change.participantCount,
      alone: change.alone,
      aloneSince: change.aloneSince,
      hangUpRequestedAt: change.hangUpRequestedAt,
      rejoinAttempts: change.rejoinAttempts,
      rejoinedFrom: change.rejoinedFrom,
    }),
    partitionKey: partitionKeyOf(callId),
    rowKey: callId,
  };
}

function fromEntity(entity: TableEntityResult<CallEntity>): StoredCall {
  if (!isCallState(entity.state)) {
    throw new Error(`Call ${entity.rowKey}: stored state "${entity.state}" is not a call state`);
  }
  return {
    callId: entity.rowKey,
    etag: entity.etag,
    state: entity.state,
    createdAt: entity.createdAt,
    keepAliveFailures: entity.keepAliveFailures,
    direction: entity.direction,
    tenantId: entity.tenantId,
    source: parseJson(entity.source),
    chatInfo: parseJson(entity.chatInfo),
    meetingInfo: parseJson(entity.meetingInfo),
    establishedAt: entity.establishedAt,
    lastKeepAliveAt: entity.lastKeepAliveAt,
    joinInfo: parseJson(entity.joinInfo) as JoinInfo | undefined,
    myParticipantId: entity.myParticipantId,
    participantCount: entity.participantCount,
    alone: entity.alone,
    aloneSince: entity.aloneSince,
    hangUpRequestedAt: entity.hangUpRequestedAt,
    rejoinAttempts: entity.rejoinAttempts,
    rejoinedFrom: entity.rejoinedFrom,
  };
}
