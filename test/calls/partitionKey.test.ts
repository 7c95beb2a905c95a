import { describe, expect, it } from 'vitest';
import { CALL_PARTITION_COUNT, partitionKeyOf } from '../../shared/calls/partitionKey.js';

describe('partitionKeyOf', () => {
  // Pinned: stored rows live under these keys, so a change to the hash or the partition count
  // would strand them. FNV-1a of "" is 0x811c9dc5 and of "a" 0xe40c292c (its published test values).
  it.each([
    ['', 'shard-05'],
    ['a', 'shard-12'],
    ['57DAB8B1894C409AB240BD8BEAE78896', 'shard-12'],
    ['2e1a0b00-2db4-4022-9570-243709c565ab', 'shard-06'],
    ['421f1100-f0d1-4b3b-8a5c-4e3a1a0e1b2c', 'shard-17'],
  ])('puts call %j in %s, always', (callId, partition) => {
    expect(partitionKeyOf(callId)).toBe(partition);
  });

  it('spreads call ids evenly over the partitions', () => {
    const counts = new Map<string, number>();
    const n = 32_000;
    for (let i = 0; i < n; i++) {
      const id = `${i.toString(16).padStart(8, '0')}-2db4-4022-9570-243709c565ab`;
      const key = partitionKeyOf(id);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(CALL_PARTITION_COUNT);
    const expected = n / CALL_PARTITION_COUNT;
    for (const count of counts.values()) expect(Math.abs(count - expected) / expected).toBeLessThan(0.1);
  });
});
