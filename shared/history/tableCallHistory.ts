import { odata, RestError, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { StorageAccess } from '../config.js';
import { tableClientFor, tableCreatedOnFirstUse } from '../storage/storageClients.js';
import { isContinuationToken } from '../storage/continuationToken.js';
import type { CallHistory, CallHistoryRecord, HistoryPage } from './callHistory.js';

// One partition, two rows per ended call, written in one transaction: `c_<callId>` for a point read
// by id, and `t_<inverted end time>_<callId>` so that the table's own key order is newest first and
// a `since` is a key range. An ended call is written once, so one partition's throughput is ample.
const PARTITION = 'history';
const BY_ID = 'c_';
const BY_TIME = 't_';
// Past the last BY_TIME key ('`' follows '_').
const BY_TIME_END = 't`';
// Milliseconds since 1970 stay below this until the year 2286, so the inverted time keeps 13 digits.
const TIME_CEILING = 9_999_999_999_999;
// An entity group transaction takes at most 100 actions.
const MAX_TRANSACTION_ACTIONS = 100;

type HistoryEntity = {
  partitionKey: string;
  rowKey: string;
  endedAt: Date;
  record: string;
};

const timeKey = (endedAt: Date, callId: string) => `${BY_TIME}${invertedTime(endedAt)}_${callId}`;
const invertedTime = (at: Date) => String(TIME_CEILING - at.getTime()).padStart(13, '0');

/** `CallHistory` on a table of its own beside the call table. */
export class TableCallHistory implements CallHistory {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly client: TableClient) {
    this.ensureTable = tableCreatedOnFirstUse(client);
  }

  static open(access: StorageAccess, tableName: string, credential: () => TokenCredential): TableCallHistory {
    return new TableCallHistory(tableClientFor(access, tableName, credential));
  }

  async record(entry: CallHistoryRecord, options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    await this.ensureTable();
    const endedAt = new Date(entry.endedAt);
    const record = JSON.stringify(entry);
    const rows: HistoryEntity[] = [
      { partitionKey: PARTITION, rowKey: `${BY_ID}${entry.id}`, endedAt, record },
      { partitionKey: PARTITION, rowKey: timeKey(endedAt, entry.id), endedAt, record },
    ];
    // `create` for the by-id row: two deliveries of one termination (or a repeat after a restored
    // row) must not list the call twice under two end times. The first record stands; a second
    // fails as a whole on the existing row, so its time row is not written either.
    try {
      await this.client.submitTransaction(
        [
          ['create', rows[0]!],
          ['upsert', rows[1]!, 'Replace'],
        ],
        options,
      );
    } catch (error) {
      if (!(error instanceof RestError) || error.statusCode !== 409) throw error;
    }
  }

  async get(callId: string): Promise<CallHistoryRecord | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.client.getEntity<HistoryEntity>(PARTITION, `${BY_ID}${callId}`);
      return JSON.parse(entity.record) as CallHistoryRecord;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async listPage({
    since,
    pageSize,
    continuationToken,
  }: {
    since?: Date;
    pageSize: number;
    continuationToken?: string;
  }): Promise<HistoryPage | 'invalidToken'> {
    if (continuationToken !== undefined && !isContinuationToken(continuationToken)) return 'invalidToken';
    await this.ensureTable();
    // Calls that ended at `since` or later have an inverted time at most since's.
    const upper = since === undefined ? BY_TIME_END : `${BY_TIME}${invertedTime(new Date(since.getTime() - 1))}`;
    const filter = odata`PartitionKey eq ${PARTITION} and RowKey ge ${BY_TIME} and RowKey lt ${upper}`;
    const pages = this.client
      .listEntities<HistoryEntity>({ queryOptions: { filter } })
      .byPage({ maxPageSize: pageSize, continuationToken });
    for await (const page of pages) {
      return { calls: page.map((entity) => JSON.parse(entity.record) as CallHistoryRecord), continuationToken: page.continuationToken };
    }
    return { calls: [], continuationToken: undefined };
  }

  async removeEndedBefore(cutoff: Date, limit: number): Promise<number> {
    await this.ensureTable();
    // Older calls have larger inverted times: from the cutoff's key to the end of the range.
    const filter = odata`PartitionKey eq ${PARTITION} and RowKey gt ${`${BY_TIME}${invertedTime(cutoff)}`} and RowKey lt ${BY_TIME_END}`;
    const old: string[] = [];
    for await (const page of this.client
      .listEntities<HistoryEntity>({ queryOptions: { filter, select: ['RowKey'] } })
      .byPage({ maxPageSize: Math.min(limit, 1000) })) {
      old.push(...page.map((entity) => entity.rowKey));
      if (old.length >= limit) break;
    }
    const keys = old.slice(0, limit).flatMap((rowKey) => [rowKey, `${BY_ID}${rowKey.slice(BY_TIME.length + 14)}`]);
    for (let i = 0; i < keys.length; i += MAX_TRANSACTION_ACTIONS) {
      const actions = keys
        .slice(i, i + MAX_TRANSACTION_ACTIONS)
        .map((rowKey): TransactionAction => ['delete', { partitionKey: PARTITION, rowKey }]);
      try {
        await this.client.submitTransaction(actions);
      } catch (error) {
        // A row another sweep deleted first fails the whole transaction: delete one by one instead.
        if (!(error instanceof RestError) || error.statusCode !== 404) throw error;
        for (const [, entity] of actions) await this.client.deleteEntity(PARTITION, entity.rowKey).catch(ignoreNotFound);
      }
    }
    return Math.min(old.length, limit);
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof RestError) || error.statusCode !== 404) throw error;
}
