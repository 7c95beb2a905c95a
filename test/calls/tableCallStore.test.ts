import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { TableClient, type TableServiceClientOptions, type TransactionAction } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { UnreadableCallError, type CallRecord, type KeepAliveResult, type StoredCall } from '../../shared/calls/callStore.js';
import { CALL_PARTITIONS, partitionKeyOf } from '../../shared/calls/partitionKey.js';
import { TableCallStore, type TableCallStoreOptions } from '../../shared/calls/tableCallStore.js';
import { idsInOnePartition } from '../support/callTable.js';

type PipelinePolicy = NonNullable<TableServiceClientOptions['additionalPolicies']>[number]['policy'];

const tableName = () => `store${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const newStore = () => TableCallStore.fromConnectionString(inject('storageConnectionString'), tableName());

/** A store whose Table requests are counted, as the service sees them (batches count once). */
function countedStore(options: TableCallStoreOptions = {}): {
  store: TableCallStore;
  client: TableClient;
  requests: () => number;
  reset: () => void;
} {
  let count = 0;
  const counter: PipelinePolicy = {
    name: 'countRequests',
    sendRequest: (request, next) => {
      count++;
      return next(request);
    },
  };
  const client = TableClient.fromConnectionString(inject('storageConnectionString'), tableName(), {
    allowInsecureConnection: true,
    additionalPolicies: [{ policy: counter, position: 'perCall' }],
  });
  return { store: new TableCallStore(client, options), client, requests: () => count, reset: () => (count = 0) };
}

async function insertAndRead(store: TableCallStore, ids: string[]): Promise<StoredCall[]> {
  for (const callId of ids) await store.insert(aCall({ callId, state: 'established' }));
  return Promise.all(ids.map(async (callId) => (await store.get(callId))!));
}

const aCall = (overrides: Partial<CallRecord> = {}): CallRecord => ({
  callId: randomUUID(),
  state: 'incoming',
  createdAt: new Date('2026-01-01T10:00:00.000Z'),
  keepAliveFailures: 0,
  ...overrides,
});

describe('TableCallStore on Azurite', () => {
  it('creates its table on first use and round-trips a call', async () => {
    const store = newStore();
    const call = aCall({
      direction: 'incoming',
      tenantId: 't1',
      source: { identity: { user: { id: 'u1' } } },
      chatInfo: { threadId: '19:meeting_x@thread.v2', messageId: '0' },
      meetingInfo: { '@odata.type': '#microsoft.graph.organizerMeetingInfo', organizer: { user: { id: 'o1' } } },
    });
    expect(await store.insert(call)).toBe('inserted');
    const read = await store.get(call.callId);
    expect(read).toEqual({ ...call, etag: expect.any(String), establishedAt: undefined, lastKeepAliveAt: undefined });
    expect(read!.createdAt).toBeInstanceOf(Date);
  });

  it('reports a second insert of the same call as a duplicate and keeps the first', async () => {
    const store = newStore();
    const call = aCall({ tenantId: 'first' });
    expect(await store.insert(call)).toBe('inserted');
    expect(await store.insert({ ...call, tenantId: 'second' })).toBe('exists');
    expect((await store.get(call.callId))!.tenantId).toBe('first');
  });

  describe('a burst of new calls', () => {
    // As the notification handler inserts: each row under its answer deadline's signal.
    const withDeadline = () => ({ abortSignal: AbortSignal.timeout(10_000) });

    it("stores one partition's calls that arrive together in one transaction after the first", async () => {
      const { store, requests, reset } = countedStore();
      await store.insert(aCall()); // the table exists: only the burst is counted
      reset();
      const ids = idsInOnePartition(20);
      const outcomes = await Promise.all(ids.map((callId) => store.insert(aCall({ callId, tenantId: `t-${callId}` }), withDeadline())));
      expect(outcomes).toEqual(ids.map(() => 'inserted'));
      // The first goes alone at once; the 19 that came while it was in flight go together.
      expect(requests()).toBe(2);
      for (const callId of ids) expect((await store.get(callId))!.tenantId).toBe(`t-${callId}`);
    });

    it('inserts a row with no deadline alone, never in a transaction', async () => {
      const { store, requests, reset } = countedStore();
      await store.insert(aCall());
      reset();
      const ids = idsInOnePartition(5);
      await Promise.all(ids.map((callId) => store.insert(aCall({ callId }))));
      expect(requests()).toBe(5);
    });

    it('tells a duplicate in a burst apart and keeps its first row, storing the others', async () => {
      const { store, requests, reset } = countedStore();
      const ids = idsInOnePartition(6);
      const duplicate = ids[3]!;
      await store.insert(aCall({ callId: duplicate, tenantId: 'first' }));
      reset();
      const outcomes = await Promise.all(
        ids.map((callId) => store.insert(aCall({ callId, tenantId: callId === duplicate ? 'second' : 'burst' }), withDeadline())),
      );
      expect(outcomes).toEqual(ids.map((callId) => (callId === duplicate ? 'exists' : 'inserted')));
      // The first alone, the other five in a transaction that the duplicate fails, then each alone.
      expect(requests()).toBe(1 + 1 + 5);
      expect((await store.get(duplicate))!.tenantId).toBe('first');
      for (const callId of ids.filter((id) => id !== duplicate)) expect((await store.get(callId))!.tenantId).toBe('burst');
    });

    it('fails only the row the service refuses, not the others stored with it', async () => {
      const { store, requests, reset } = countedStore();
      await store.insert(aCall()); // the table exists: only the burst is counted
      reset();
      const ids = idsInOnePartition(5);
      const tooLarge = ids[3]!;
      const outcomes = await Promise.allSettled(
        ids.map((callId) => store.insert(aCall({ callId, tenantId: callId === tooLarge ? 't'.repeat(40_000) : 'fits' }), withDeadline())),
      );
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.status))).toEqual(
        ids.map((id) => (id === tooLarge ? 'rejected' : 'inserted')),
      );
      expect((outcomes[3] as PromiseRejectedResult).reason).toMatchObject({ name: 'RestError', statusCode: 400 });
      expect(requests()).toBe(1 + 1 + 4);
      expect(await store.get(tooLarge)).toBeUndefined();
      for (const callId of ids.filter((id) => id !== tooLarge)) expect((await store.get(callId))!.tenantId).toBe('fits');
    });
  });

  it('loses no update when another writer changed the row since it was read', async () => {
    const store = newStore();
    const call = aCall();
    await store.insert(call);
    const staleCopy = (await store.get(call.callId))!;

    await store.update(call.callId, () => ({ state: 'established' }));
    let decisions = 0;
    const result = await store.update(
      call.callId,
      (current) => {
        decisions++;
        return { keepAliveFailures: current.keepAliveFailures + 1 };
      },
      staleCopy,
    );

    expect(decisions).toBe(2); // the stale ETag was refused (412), the change decided again on fresh data
    expect(result.outcome).toBe('updated');
    expect(await store.get(call.callId)).toMatchObject({ state: 'established', keepAliveFailures: 1 });
  });

  it('never resurrects a deleted row', async () => {
    const store = newStore();
    const call = aCall();
    await store.insert(call);
    const copy = (await store.get(call.callId))!;
    expect(await store.remove(call.callId)).toBe('removed');

    expect(await store.update(call.callId, () => ({ lastKeepAliveAt: new Date() }), copy)).toEqual({ outcome: 'missing' });
    expect(await store.update(call.callId, () => ({ state: 'established' }))).toEqual({ outcome: 'missing' });
    expect(await store.get(call.callId)).toBeUndefined();
    expect(await store.remove(call.callId)).toBe('missing');
  });

  it('makes no write when the change decides nothing', async () => {
    const store = newStore();
    const call = aCall();
    await store.insert(call);
    const before = (await store.get(call.callId))!;
    expect(await store.update(call.callId, () => undefined)).toEqual({ outcome: 'unchanged', call: before });
    expect((await store.get(call.callId))!.etag).toBe(before.etag);
  });

  it('lists every call in pages of at most the requested size', async () => {
    const store = newStore();
    const ids = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const call = aCall();
      ids.add(call.callId);
      await store.insert(call);
    }
    const seen: string[] = [];
    for await (const { calls, unreadable } of store.pages({ pageSize: 10 })) {
      expect(calls.length).toBeLessThanOrEqual(10);
      expect(unreadable).toEqual([]);
      seen.push(...calls.map((c) => c.callId));
    }
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(25);
  });

  describe('recording keepAlive results in batches', () => {
    const at = new Date('2026-01-01T10:20:00.000Z');
    const ok = (call: StoredCall): KeepAliveResult => ({ call, outcome: 'ok', at });

    it('writes 250 results of one partition with 3 transactions', async () => {
      const { store, requests, reset } = countedStore();
      const calls = await insertAndRead(store, idsInOnePartition(250));
      reset();

      expect(await store.recordKeepAliveResults(calls.map(ok))).toEqual({ written: 250, missing: 0 });
      expect(requests()).toBe(3);
      for (const call of calls) {
        expect(await store.get(call.callId)).toMatchObject({ lastKeepAliveAt: at, keepAliveFailures: 0, state: 'established' });
      }
    });

    it('keeps one transaction to one partition', async () => {
      const { store, requests, reset } = countedStore();
      const ids = [...idsInOnePartition(3, CALL_PARTITIONS[0]), ...idsInOnePartition(4, CALL_PARTITIONS[1])];
      const calls = await insertAndRead(store, ids);
      reset();
      expect(await store.recordKeepAliveResults(calls.map(ok))).toEqual({ written: 7, missing: 0 });
      expect(requests()).toBe(2);
    });

    it('counts a failure against the call and clears the count on success', async () => {
      const store = newStore();
      const [first, second] = await insertAndRead(store, idsInOnePartition(2));
      await store.recordKeepAliveResults([
        { call: first!, outcome: 'failed' },
        { call: second!, outcome: 'failed' },
      ]);
      const failedTwice = (await store.get(first!.callId))!;
      await store.recordKeepAliveResults([{ call: failedTwice, outcome: 'failed' }]);
      expect((await store.get(first!.callId))!.keepAliveFailures).toBe(2);

      await store.recordKeepAliveResults([ok((await store.get(first!.callId))!), ok((await store.get(second!.callId))!)]);
      expect(await store.get(first!.callId)).toMatchObject({ keepAliveFailures: 0, lastKeepAliveAt: at });
    });

    it('keeps the other rows and the concurrent change when one row changed since it was read', async () => {
      const store = newStore();
      const calls = await insertAndRead(store, idsInOnePartition(5));
      const changed = calls[2]!;
      // A terminating notification's writer got there first: the sweep's copy now has a stale ETag.
      await store.update(changed.callId, () => ({ state: 'terminating' }));

      expect(await store.recordKeepAliveResults(calls.map(ok))).toEqual({ written: 5, missing: 0 });
      for (const call of calls) expect((await store.get(call.callId))!.lastKeepAliveAt).toEqual(at);
      expect((await store.get(changed.callId))!.state).toBe('terminating');
    });

    it('keeps the other rows and does not resurrect one that vanished since it was read', async () => {
      const store = newStore();
      const calls = await insertAndRead(store, idsInOnePartition(5));
      const gone = calls[4]!;
      await store.remove(gone.callId);

      expect(await store.recordKeepAliveResults(calls.map(ok))).toEqual({ written: 4, missing: 1 });
      expect(await store.get(gone.callId)).toBeUndefined();
      for (const call of calls.slice(0, 4)) expect((await store.get(call.callId))!.lastKeepAliveAt).toEqual(at);
    });

    it('never moves the last keepAlive time back', async () => {
      const store = newStore();
      const [call] = await insertAndRead(store, idsInOnePartition(1));
      const later = new Date(at.getTime() + 60_000);
      await store.recordKeepAliveResults([{ call: call!, outcome: 'ok', at: later }]);
      // A slower writer holding the old copy arrives with an earlier time.
      await store.recordKeepAliveResults([ok(call!)]);
      expect((await store.get(call!.callId))!.lastKeepAliveAt).toEqual(later);
    });
  });

  it('lists one partition only when asked, and counts calls up to a limit', async () => {
    const store = newStore();
    const [partition, other] = [CALL_PARTITIONS[5]!, CALL_PARTITIONS[6]!];
    await insertAndRead(store, [...idsInOnePartition(3, partition), ...idsInOnePartition(2, other)]);
    const seen: StoredCall[] = [];
    for await (const page of store.pages({ partition })) seen.push(...page.calls);
    expect(seen.map((c) => partitionKeyOf(c.callId))).toEqual([partition, partition, partition]);

    expect(await store.countUpTo(100)).toBe(5);
    expect(await store.countUpTo(4)).toBe(4);
  });

  it('stops counting in every partition once the total reaches the limit', async () => {
    const keyPageSize = 2;
    const { store, client, requests, reset } = countedStore({ keyPageSize });
    await store.countUpTo(1); // creates the table
    // Six calls in every partition, written a partition at a time.
    for (const partition of CALL_PARTITIONS) {
      const rows = idsInOnePartition(6, partition).map((rowKey) => ({ partitionKey: partition, rowKey, state: 'incoming' }));
      await client.submitTransaction(rows.map((row): TransactionAction => ['create', row]));
    }
    expect(await store.countUpTo(1000)).toBe(192);

    reset();
    const limit = 20;
    expect(await store.countUpTo(limit)).toBe(limit);
    // At most the pages that reach the limit plus one page in flight per partition; counting each
    // partition up to the limit on its own would read all 3 pages of all 32 partitions (96).
    expect(requests()).toBeLessThanOrEqual(limit / keyPageSize + CALL_PARTITIONS.length);
  });

  it('reads no more once the count is called off, and rejects', async () => {
    const { store, client, requests, reset } = countedStore({ keyPageSize: 1 });
    await store.countUpTo(1); // creates the table
    const partition = CALL_PARTITIONS[3]!;
    const rows = idsInOnePartition(20, partition).map((rowKey) => ({ partitionKey: partition, rowKey, state: 'incoming' }));
    await client.submitTransaction(rows.map((row): TransactionAction => ['create', row]));
    reset();
    const stop = new AbortController();
    const counting = store.countActive(stop.signal);
    // One read for each of the 31 empty partitions, then the full one's 20 pages one after another.
    while (requests() < CALL_PARTITIONS.length + 3) await setTimeout(2);
    stop.abort();
    await expect(counting).rejects.toThrow();
    const atAbort = requests();
    await setTimeout(300);
    expect(requests()).toBe(atAbort);
    expect(atAbort).toBeLessThan(CALL_PARTITIONS.length - 1 + 20);
  });

  it("removes a column under the ETag, keeping the columns it does not know (a newer version's)", async () => {
    const { store, client } = countedStore();
    const call = aCall({ hangUpRequestedAt: new Date('2026-01-01T10:05:00.000Z') });
    await store.insert(call);
    await client.updateEntity({ partitionKey: partitionKeyOf(call.callId), rowKey: call.callId, futureColumn: 'kept' }, 'Merge');
    const stale = (await store.get(call.callId))!;
    await store.update(call.callId, () => ({ participantCount: 3 }));

    let decisions = 0;
    const result = await store.update(
      call.callId,
      (current) => {
        decisions++;
        return { hangUpRequestedAt: null, keepAliveFailures: current.keepAliveFailures + 1 };
      },
      stale,
    );
    expect(decisions).toBe(2); // the stale copy was not written over
    expect(result).toMatchObject({ outcome: 'updated', call: { participantCount: 3, keepAliveFailures: 1 } });
    expect(result.outcome === 'updated' && result.call).not.toHaveProperty('hangUpRequestedAt');
    const stored = await client.getEntity<Record<string, unknown>>(partitionKeyOf(call.callId), call.callId);
    expect(stored).toMatchObject({ futureColumn: 'kept', participantCount: 3, keepAliveFailures: 1, state: 'incoming' });
    expect(stored['hangUpRequestedAt']).toBeUndefined();
    const read = await store.get(call.callId);
    expect(read).toMatchObject({ createdAt: call.createdAt, participantCount: 3 });
    expect(read).not.toHaveProperty('hangUpRequestedAt');
  });

  describe('rows this version cannot read', () => {
    // Written straight to the table, as another version or a hand edit would.
    const spoilers: [string, Record<string, unknown>, RegExp][] = [
      ['a state of another version', { state: 'parked' }, /^state: "parked" is not a call state$/],
      ['bad JSON in chatInfo', { chatInfo: '{"threadId":' }, /^chatInfo: is not valid JSON$/],
      ['a string in a date column', { createdAt: '2026-01-01T10:00:00Z' }, /^createdAt: .*expected date, received string$/],
      ['a JSON list where an object belongs', { meetingInfo: '[1, 2]' }, /^meetingInfo: is JSON but not an object$/],
    ];

    it('reads the other rows of the page and sets the bad ones apart, each with its problem', async () => {
      const { store, client } = countedStore();
      const good = await insertAndRead(store, idsInOnePartition(3));
      const bad = await insertAndRead(store, idsInOnePartition(spoilers.length));
      for (const [i, [, columns]] of spoilers.entries()) {
        await client.updateEntity({ partitionKey: partitionKeyOf(bad[i]!.callId), rowKey: bad[i]!.callId, ...columns }, 'Merge');
      }

      const calls: StoredCall[] = [];
      const unreadable: { callId: string; problem: string; keepAliveBasis: Date | undefined }[] = [];
      for await (const page of store.pages({ pageSize: 2 })) {
        calls.push(...page.calls);
        unreadable.push(...page.unreadable);
      }
      expect(calls.map((c) => c.callId).sort()).toEqual(good.map((c) => c.callId).sort());
      expect(unreadable.map((r) => r.callId).sort()).toEqual(bad.map((c) => c.callId).sort());
      for (const [i, [, , problem]] of spoilers.entries()) {
        const row = unreadable.find((r) => r.callId === bad[i]!.callId)!;
        expect(row.problem).toMatch(problem);
      }
      // Where the start is still readable, it is kept: it says when the call's 45 minutes began.
      expect(unreadable.find((r) => r.callId === bad[0]!.callId)!.keepAliveBasis).toEqual(bad[0]!.createdAt);
      expect(unreadable.find((r) => r.callId === bad[2]!.callId)!.keepAliveBasis).toBeUndefined();

      const listed = await store.listPage(1000);
      if (listed === 'invalidToken') throw new Error('the listing refused to start');
      expect(listed.calls).toHaveLength(3);
      expect(listed.unreadable.map((r) => r.problem).sort()).toEqual(unreadable.map((r) => r.problem).sort());
    });

    it('refuses to get or update a bad row with an error naming the problem, and writes nothing to it', async () => {
      const { store, client } = countedStore();
      const [call] = await insertAndRead(store, idsInOnePartition(1));
      await client.updateEntity({ partitionKey: partitionKeyOf(call!.callId), rowKey: call!.callId, chatInfo: 'not json' }, 'Merge');
      const before = await client.getEntity(partitionKeyOf(call!.callId), call!.callId);

      await expect(store.get(call!.callId)).rejects.toThrow(UnreadableCallError);
      await expect(store.get(call!.callId)).rejects.toThrow(`Call ${call!.callId}: its row cannot be read (chatInfo: is not valid JSON)`);
      await expect(store.update(call!.callId, () => ({ state: 'terminating' }))).rejects.toThrow(UnreadableCallError);
      expect((await client.getEntity(partitionKeyOf(call!.callId), call!.callId)).etag).toBe(before.etag);
    });
  });
});
