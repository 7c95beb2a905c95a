import type { CallRecord } from '../calls/callStore.js';

const MINUTE_MS = 60_000;

/** When the call's 45-minute keepAlive window started: its last successful keepAlive, or its start. */
export function keepAliveBasis(call: Pick<CallRecord, 'createdAt' | 'lastKeepAliveAt'>): Date {
  return call.lastKeepAliveAt ?? call.createdAt;
}

/** A call is due once its basis is at least `intervalMinutes` old; 0 makes every call due. */
export function keepAliveDue(
  call: Pick<CallRecord, 'createdAt' | 'lastKeepAliveAt'>,
  now: Date,
  intervalMinutes: number,
): boolean {
  return now.getTime() - keepAliveBasis(call).getTime() >= intervalMinutes * MINUTE_MS;
}
