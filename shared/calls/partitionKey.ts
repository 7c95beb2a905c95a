/**
 * Calls are spread over a fixed number of partitions so that Table Storage can serve them from
 * several servers and a sweep can work shard by shard, while a call's partition is computed from
 * its id alone: a point read by call id never needs a scan.
 *
 * The count is part of the stored data's layout: changing it would strand existing rows.
 */
export const CALL_PARTITION_COUNT = 32;

export function partitionKeyOf(callId: string): string {
  return `shard-${String(fnv1a32(callId) % CALL_PARTITION_COUNT).padStart(2, '0')}`;
}

// FNV-1a: tiny, stable across Node versions and platforms, and spreads short ids evenly.
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Every partition key a call can have, in table order: the unit of work of a fanned-out sweep. */
export const CALL_PARTITIONS: readonly string[] = Array.from(
  { length: CALL_PARTITION_COUNT },
  (_, shard) => `shard-${String(shard).padStart(2, '0')}`,
);

export function isCallPartition(value: string): boolean {
  return CALL_PARTITIONS.includes(value);
}
