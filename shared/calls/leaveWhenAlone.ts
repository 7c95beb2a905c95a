import type { CallRecord } from './callStore.js';

const MINUTE_MS = 60_000;

/**
 * Whether the bot should leave a meeting it has had to itself for `minutes` (0 = never).
 * Without this the keepAlive sweep would keep an empty meeting alive forever. Pure.
 */
export function leaveWhenAlone(call: Pick<CallRecord, 'alone' | 'aloneSince'>, now: Date, minutes: number): boolean {
  if (minutes <= 0 || call.alone !== true || call.aloneSince === undefined) return false;
  return now.getTime() - call.aloneSince.getTime() >= minutes * MINUTE_MS;
}
