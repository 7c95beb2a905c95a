import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import type { CallRecord } from '../../shared/calls/callStore.js';
import { TableCallStore } from '../../shared/calls/tableCallStore.js';

const newStore = () =>
  TableCallStore.fromConnectionString(inject('tableConnectionString'), `store${randomUUID().replace(/-/g, '').slice(0, 16)}`);

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
    for await (const page of store.pages(10)) {
      expect(page.length).toBeLessThanOrEqual(10);
      seen.push(...page.map((c) => c.callId));
    }
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(25);
  });
});
