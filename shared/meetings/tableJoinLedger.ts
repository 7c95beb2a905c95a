import { RestError, type TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { JoinInfo } from '../calls/callStore.js';
import type { StorageAccess } from '../config.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';
import type { OutgoingCall } from '../outgoing/outgoingCall.js';
import { tableClientFor, tableCreatedOnFirstUse } from '../storage/storageClients.js';
import type { JoinLedger, PendingJoin, PendingJoinState, StoredPendingJoin } from './joinLedger.js';

interface PendingJoinEntity {
  partitionKey: string;
  rowKey: string;
  joinInfo?: string;
  outgoing?: string;
  requestedAt: Date;
  stage: string;
  rejoinedFrom?: string;
  rejoinAttempts?: number;
  endedCallId?: string;
  endedResultInfo?: string;
  endedHandled?: boolean;
  adoptedCallId?: string;
  createdCallId?: string;
  refusedStatus?: number;
  claim?: string;
}

const PARTITION = 'join';
const MAX_WRITE_ATTEMPTS = 8;

/** `JoinLedger` on a table of its own beside the call table (sweeps and listings never see it). */
export class TableJoinLedger implements JoinLedger {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly client: TableClient) {
    this.ensureTable = tableCreatedOnFirstUse(client);
  }

  static open(access: StorageAccess, tableName: string, credential: () => TokenCredential): TableJoinLedger {
    return new TableJoinLedger(tableClientFor(access, tableName, credential));
  }

  async open(join: PendingJoin): Promise<'opened' | 'exists'> {
    await this.ensureTable();
    try {
      await this.client.createEntity(toEntity(join));
      return 'opened';
    } catch (error) {
      if (statusOf(error) === 409) return 'exists';
      throw error;
    }
  }

  async get(joinId: string): Promise<StoredPendingJoin | undefined> {
    await this.ensureTable();
    try {
      return fromEntity(await this.client.getEntity<PendingJoinEntity>(PARTITION, joinId));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async update(
    joinId: string,
    decide: (current: StoredPendingJoin) => Partial<PendingJoinState> | undefined,
  ): Promise<StoredPendingJoin | 'missing'> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.get(joinId);
      if (!current) return 'missing';
      const change = decide(current);
      if (!change) return current;
      const next = { ...current, ...change };
      try {
        const { etag } = await this.client.updateEntity(toEntity(next), 'Replace', { etag: current.etag });
        return { ...next, etag: etag ?? current.etag };
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return 'missing';
        if (status !== 412) throw error;
      }
    }
    throw new Error(`Join ${joinId}: gave up after ${MAX_WRITE_ATTEMPTS} conflicting writes`);
  }

  async close(joinId: string): Promise<void> {
    await this.update(joinId, (current) => (current.stage === 'closed' ? undefined : { stage: 'closed' }));
  }

  async remove(joinId: string): Promise<void> {
    await this.ensureTable();
    try {
      await this.client.deleteEntity(PARTITION, joinId);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}

function toEntity(join: PendingJoin): PendingJoinEntity {
  return {
    partitionKey: PARTITION,
    rowKey: join.joinId,
    ...(join.joinInfo !== undefined && { joinInfo: JSON.stringify(join.joinInfo) }),
    ...(join.outgoing !== undefined && { outgoing: JSON.stringify(join.outgoing) }),
    requestedAt: join.requestedAt,
    stage: join.stage,
    ...(join.rejoinedFrom !== undefined && { rejoinedFrom: join.rejoinedFrom }),
    ...(join.rejoinAttempts !== undefined && { rejoinAttempts: join.rejoinAttempts }),
    ...(join.ended && { endedCallId: join.ended.callId }),
    ...(join.ended?.resultInfo && { endedResultInfo: JSON.stringify(join.ended.resultInfo) }),
    ...(join.ended && { endedHandled: join.ended.handled }),
    ...(join.adoptedCallId !== undefined && { adoptedCallId: join.adoptedCallId }),
    ...(join.createdCallId !== undefined && { createdCallId: join.createdCallId }),
    ...(join.refusedStatus !== undefined && { refusedStatus: join.refusedStatus }),
    ...(join.claim !== undefined && { claim: join.claim }),
  };
}

function fromEntity(entity: PendingJoinEntity & { etag: string }): StoredPendingJoin {
  return {
    joinId: entity.rowKey,
    etag: entity.etag,
    ...(entity.outgoing !== undefined
      ? { outgoing: JSON.parse(entity.outgoing) as OutgoingCall }
      : { joinInfo: JSON.parse(entity.joinInfo ?? 'null') as JoinInfo }),
    requestedAt: entity.requestedAt,
    stage: entity.stage === 'creating' || entity.stage === 'closed' ? entity.stage : 'unknown',
    rejoinedFrom: entity.rejoinedFrom,
    rejoinAttempts: entity.rejoinAttempts,
    ended:
      entity.endedCallId === undefined
        ? undefined
        : {
            callId: entity.endedCallId,
            resultInfo: entity.endedResultInfo === undefined ? undefined : (JSON.parse(entity.endedResultInfo) as ResultInfo),
            handled: entity.endedHandled === true,
          },
    adoptedCallId: entity.adoptedCallId,
    createdCallId: entity.createdCallId,
    refusedStatus: entity.refusedStatus,
    claim: entity.claim,
  };
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}
