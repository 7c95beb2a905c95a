import type { CallRecord } from '../calls/callStore.js';

const MINUTE_MS = 60_000;

/**
 * Graph ends a call that has had no successful keepAlive for this long
 * (https://learn.microsoft.com/en-us/graph/api/call-keepalive: "A call that does not receive this
 * request within 45 minutes is considered inactive and will subsequently end").
 */
export const KEEPALIVE_LIMIT_MINUTES = 45;

/** When the call's 45-minute keepAlive window started: its last successful keepAlive, or its start. */
export function keepAliveBasis(call: Pick<CallRecord, 'createdAt' | 'lastKeepAliveAt'>): Date {
  return call.lastKeepAliveAt ?? call.createdAt;
}

/** A call is due once its basis is at least `intervalMinutes` old; 0 makes every call due. */
export function keepAliveDue(call: Pick<CallRecord, 'createdAt' | 'lastKeepAliveAt'>, now: Date, intervalMinutes: number): boolean {
  return now.getTime() - keepAliveBasis(call).getTime() >= intervalMinutes * MINUTE_MS;
}

/** Whether Graph has ended the call by its own rule: no successful keepAlive for 45 minutes. */
export function pastKeepAliveLimit(basis: Date, now: Date): boolean {
  return now.getTime() - basis.getTime() >= KEEPALIVE_LIMIT_MINUTES * MINUTE_MS;
}
