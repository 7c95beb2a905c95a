import type { SweepRecord } from './sweepStatus.js';

/**
 * How many calls one instance can keep alive within a sweep's budget, projected from what recent
 * sweeps saw of Graph: the timer sweeps inline only what this says one instance can do, and hands
 * the rest out shard by shard. A pure function of the sweep records; the timer reads them.
 *
 * Throughput is Little's law: in flight / Graph's round trip. The round trip a sweep measured
 * includes this instance's own queueing (CPU, TLS), so a CPU-bound sweep projects its real rate.
 */
export interface SweepProjection {
  /** Calls one instance can keep alive within the budget. */
  capacity: number;
  latencyMs: number;
  inFlight: number;
  /** `observed`: from a recent sweep's figures; `assumed`: none to go by (see ASSUMED). */
  basis: 'observed' | 'assumed';
  /** The previous inline sweep ran out of budget: whatever the figures say, one instance was not enough. */
  previousRanOut: boolean;
}

export interface ProjectionInput {
  /** The sweep records as read, or undefined when they could not be read in time. */
  records: readonly SweepRecord[] | undefined;
  now: Date;
  budgetMs: number;
  /** KEEPALIVE_MAX_IN_FLIGHT and the sweep's starting count: the bounds of what a sweep reaches. */
  ceiling: number;
  floor: number;
}

// Figures older than this describe another Graph (another time of day, another region's load).
export const PROJECTION_MAX_AGE_MS = 60 * 60_000;
// With nothing observed, plan for the slow Graph the sweep must survive (500 ms a keepAlive) at
// the sweep's starting count: fans out early (shard sweeps are cheap), never late. The first shard
// sweeps then give figures to go by.
const ASSUMED = { latencyMs: 500, inFlight: 16 };
// A sweep's ramp-up, page reads and Graph's spread keep it under Little's bound (0.76-0.89 of it
// was measured at 200-500 ms, docs/performance.md): plan on 0.7, as tenths so whole numbers stay whole.
const EFFICIENCY_TENTHS = 7;
// Too few answers say little of Graph's latency under load.
const MIN_ANSWERS = 50;

export function projectSweep({ records, now, budgetMs, ceiling, floor }: ProjectionInput): SweepProjection {
  const recent = (records ?? []).filter((r) => now.getTime() - r.finishedAt.getTime() <= PROJECTION_MAX_AGE_MS);
  const previousRanOut = recent.some((r) => r.scope === 'timer' && r.summary !== undefined && ranOut(r));
  const observed = recent
    .filter((r) => r.summary?.meanLatencyMs !== undefined && r.summary.ok + r.summary.failed >= MIN_ANSWERS)
    .sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime())[0]?.summary;
  const basis = observed ? 'observed' : 'assumed';
  const latencyMs = Math.max(1, observed?.meanLatencyMs ?? ASSUMED.latencyMs);
  const lowest = Math.min(floor, ceiling);
  const inFlight = Math.max(lowest, Math.min(ceiling, observed?.peakInFlight ?? ASSUMED.inFlight));
  const capacity = Math.floor((EFFICIENCY_TENTHS * inFlight * budgetMs) / (10 * latencyMs));
  return { capacity, latencyMs, inFlight, basis, previousRanOut };
}

function ranOut(record: SweepRecord): boolean {
  return record.summary!.skippedForBudget > 0 || record.summary!.budgetExhausted;
}

/** The projection in a log line's words. */
export function describeProjection(p: SweepProjection): string {
  const source = p.basis === 'observed' ? 'as a recent sweep saw Graph' : 'assumed: no recent sweep to go by';
  return `one instance keeps about ${p.capacity} calls alive in the sweep budget (${p.inFlight} in flight at ${Math.round(p.latencyMs)} ms, ${source})`;
}
