import { describe, expect, it } from 'vitest';
import { CALL_PARTITION_COUNT, partitionKeyOf } from '../../shared/calls/partitionKey.js';

describe('partitionKeyOf', () => {
  it('is stable for a call id, so a point read needs no scan', () => {
    expect(partitionKeyOf('57DAB8B1894C409AB240BD8BEAE78896')).toBe(partitionKeyOf('57DAB8B1894C409AB240BD8BEAE78896'));
    expect(partitionKeyOf('2e1a0b00-2db4-4022-9570-243709c565ab')).toMatch(/^shard-\d{2}$/);
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
