import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ActiveCallCounter } from '../../shared/calls/activeCallCount.js';
import { TableCallStore } from '../../shared/calls/tableCallStore.js';

// The real store on Azurite, with the number of counts it was asked for recorded.
async function storeWith(calls: number) {
  const store = TableCallStore.fromConnectionString(
    inject('storageConnectionString'),
    `count${randomUUID().replace(/-/g, '').slice(0, 20)}`,
  );
  for (let i = 0; i < calls; i++) {
    await store.insert({ callId: randomUUID(), state: 'established', createdAt: new Date(), keepAliveFailures: 0 });
  }
  let counts = 0;
  const counted = {
    countActive: async () => {
      counts++;
      return store.countActive();
    },
  };
  return { store, counted, counts: () => counts };
}

describe('ActiveCallCounter', () => {
  it('counts the rows once and reuses the count within its lifetime, adding calls answered meanwhile', async () => {
    const { counted, counts } = await storeWith(3);
    let now = 0;
    const counter = new ActiveCallCounter(counted, 30_000, () => now);
    expect(await counter.count()).toBe(3);
    counter.noteAnswered();
    now = 29_999;
    expect(await counter.count()).toBe(4);
    expect(counts()).toBe(1);
  });

  it('answers with the old count once it has expired, and has a fresh one ready for the next call', async () => {
    const { store, counted, counts } = await storeWith(2);
    let now = 0;
    const counter = new ActiveCallCounter(counted, 30_000, () => now);
    expect(await counter.count()).toBe(2);
    await store.insert({ callId: randomUUID(), state: 'incoming', createdAt: new Date(), keepAliveFailures: 0 });
    now = 30_000;
    expect(await counter.count()).toBe(2);
    // Callers meanwhile share the one count under way.
    expect(await Promise.all([counter.count(), counter.count()])).toEqual([2, 2]);
    await counter.settled();
    expect(await counter.count()).toBe(3);
    expect(counts()).toBe(2);
  });

  it('reports a failed background count and keeps deciding on the old one', async () => {
    let fail = false;
    const source = { countActive: async () => (fail ? Promise.reject(new Error('table unreachable')) : 5) };
    let now = 0;
    const counter = new ActiveCallCounter(source, 30_000, () => now);
    expect(await counter.count()).toBe(5);
    fail = true;
    now = 30_000;
    const reported: unknown[] = [];
    expect(await counter.count((error) => reported.push(error))).toBe(5);
    await counter.settled();
    expect(reported).toEqual([new Error('table unreachable')]);
  });

  it('counts afresh on every call when its lifetime is 0', async () => {
    const { store, counted, counts } = await storeWith(1);
    const counter = new ActiveCallCounter(counted, 0);
    expect(await counter.count()).toBe(1);
    await store.insert({ callId: randomUUID(), state: 'incoming', createdAt: new Date(), keepAliveFailures: 0 });
    expect(await counter.count()).toBe(2);
    expect(counts()).toBe(2);
  });

  it('counts more than one page of rows', async () => {
    const { store } = await storeWith(0);
    const ids = Array.from({ length: 1005 }, () => randomUUID());
    // Azurite accepts inserts in parallel; 1,005 rows make two pages of 1,000.
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map((callId) => store.insert({ callId, state: 'established', createdAt: new Date(), keepAliveFailures: 0 })),
      );
    }
    expect(await store.countActive()).toBe(1005);
  });
});
