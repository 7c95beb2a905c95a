import { odata, type TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { StorageAccess } from '../config.js';
import { tableClientFor, tableCreatedOnFirstUse } from '../storage/storageClients.js';
import type { SweepOutcome, SweepRecord, SweepStatusStore } from './sweepStatus.js';
import type { SweepSummary } from './sweepKeepAlive.js';

interface SweepEntity {
  partitionKey: string;
  rowKey: string;
  startedAt: Date;
  finishedAt: Date;
  outcome: string;
  summary?: string;
  error?: string;
  fannedOutSince?: Date;
  fanOutHeldUntil?: Date;
}

// One partition holds every scope's latest record (the timer and at most 32 shards): one query reads them all.
const PARTITION = 'sweep';
const OUTCOMES: readonly SweepOutcome[] = ['ok', 'partial', 'failed', 'fanned-out'];
// Table Storage keeps a string property up to 32K characters; an error message needs far less.
const MAX_ERROR_LENGTH = 1000;

/** `SweepStatusStore` on a table of its own beside the call table, so call listings never see it. */
export class TableSweepStatusStore implements SweepStatusStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly client: TableClient) {
    this.ensureTable = tableCreatedOnFirstUse(client);
  }

  static open(access: StorageAccess, tableName: string, credential: () => TokenCredential): TableSweepStatusStore {
    return new TableSweepStatusStore(tableClientFor(access, tableName, credential));
  }

  async record(record: SweepRecord): Promise<void> {
    await this.ensureTable();
    const entity: SweepEntity = {
      partitionKey: PARTITION,
      rowKey: record.scope,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      outcome: record.outcome,
      ...(record.summary && { summary: JSON.stringify(record.summary) }),
      ...(record.error !== undefined && { error: record.error.slice(0, MAX_ERROR_LENGTH) }),
      ...(record.fannedOutSince && { fannedOutSince: record.fannedOutSince }),
      ...(record.fanOutHeldUntil && { fanOutHeldUntil: record.fanOutHeldUntil }),
    };
    // Replace, not merge: a success must not keep the error of the failure before it.
    await this.client.upsertEntity(entity, 'Replace');
  }

  async all(): Promise<SweepRecord[]> {
    await this.ensureTable();
    const records: SweepRecord[] = [];
    const entities = this.client.listEntities<SweepEntity>({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` } });
    for await (const entity of entities) {
      const outcome = OUTCOMES.find((o) => o === entity.outcome);
      if (!outcome) throw new Error(`Sweep record ${entity.rowKey}: stored outcome "${entity.outcome}" is not a sweep outcome`);
      records.push({
        scope: entity.rowKey,
        startedAt: entity.startedAt,
        finishedAt: entity.finishedAt,
        outcome,
        summary: entity.summary === undefined ? undefined : (JSON.parse(entity.summary) as SweepSummary),
        error: entity.error,
        fannedOutSince: entity.fannedOutSince,
        fanOutHeldUntil: entity.fanOutHeldUntil,
      });
    }
    return records;
  }
}
