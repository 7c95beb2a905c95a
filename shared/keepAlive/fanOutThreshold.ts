import { SWEEP_BUDGET_MS } from './sweepBudget.js';
import type { SweepRecord } from './sweepStatus.js';

// Calls kept alive are due again an interval (15 minutes) later, so about a third of a steady table
// is due in each 5-minute sweep: one sweep must reach a third of the table. A fifth is kept in hand
// for latency that grows during the sweep.
const DUE_SHARE = 1 / 3;
const HEADROOM = 0.8;

/**
 * Above how many active calls the timer fans the sweep out: the configured SWEEP_FANOUT_THRESHOLD,
 * or fewer when Graph's latency, as the latest sweep saw it, says one instance cannot keep that
 * many alive. One instance sends at most `ceiling` keepAlives per round trip, so a sweep's budget
 * reaches about budget × ceiling ÷ latency calls; a table is kept alive while its due third fits
 * that reach. Pure.
 */
export function fanOutThreshold(configured: number, ceiling: number, latestLatencyMs: number | undefined): number {
  if (latestLatencyMs === undefined || latestLatencyMs <= 0) return configured;
  const reach = (SWEEP_BUDGET_MS / latestLatencyMs) * ceiling;
  return Math.min(configured, Math.floor((reach * HEADROOM) / DUE_SHARE));
}

/** Graph's latency as the most recent sweep that measured it saw it (the timer's, or a shard's when fanned out). */
export function latestLatencyMs(records: readonly SweepRecord[]): number | undefined {
  const measured = records.filter((r) => r.summary?.meanLatencyMs !== undefined);
  measured.sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime());
  return measured[0]?.summary?.meanLatencyMs;
}
