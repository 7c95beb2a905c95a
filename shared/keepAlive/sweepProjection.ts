import type { SweepRecord } from './sweepStatus.js';

/**
 * How many calls one instance can keep alive within a sweep's budget, projected from what recent
 * sweeps saw of Graph: the timer sweeps inline only what this says one instance can do, and hands
 * the rest out shard by shard. A pure function of the sweep records; the timer reads them.
 *
 * Throughput is Little's law: in flight / Graph's round trip. The round trip a sweep measured
 * includes its instance's own queueing (CPU, TLS), so a CPU-bound sweep projects its real rate. A
 * paced timer sweep (`sweepPace.ts`) reached only what its calls needed: its figures project less
 * than one instance can do, which errs towards fanning out.
 * The figures are pooled over every recent record (the timer's and the shards'), weighted by how
 * many answers each mean is made of, so neither one shard's luck nor a mid-sized table whose
 * shards each saw few answers decides alone.
 */
export interface SweepProjection {
  /** Calls one instance can keep alive within the budget. */
  capacity: number;
  latencyMs: number;
  inFlight: number;
  /** `observed`: from recent sweeps' figures; `assumed`: too few to go by (see ASSUMED). */
  basis: 'observed' | 'assumed';
  /**
   * Hand out whatever the figures say: `ranOut`, the previous timer sweep ran out of its budget
   * inline; `held`, one did within the last FAN_OUT_HOLD_MS (the figures overrated one instance).
   */
  hold: 'ranOut' | 'held' | undefined;
  /** The previous timer run handed out: it comes back inline only with room to spare. */
  previousFannedOut: boolean;
}

export interface ProjectionInput {
  /** The sweep records as read, or undefined when they could not be read in time. */
  records: readonly SweepRecord[] | undefined;
  now: Date;
  /** What is left of the timer's budget for the sweep itself. */
  budgetMs: number;
  /** KEEPALIVE_MAX_IN_FLIGHT and the sweep's starting count: the bounds of what a sweep reaches. */
  ceiling: number;
  floor: number;
}

// Figures older than this describe another Graph (another time of day, another region's load).
export const PROJECTION_MAX_AGE_MS = 60 * 60_000;
// After an inline sweep ran out of its budget, the timer hands out for this long.
export const FAN_OUT_HOLD_MS = 60 * 60_000;
// A record dated further ahead than this comes from a skewed clock or a hand edit: not trusted.
const FUTURE_TOLERANCE_MS = 2 * 60_000;
// With too few figures, plan for the slow Graph the sweep must survive (500 ms a keepAlive) at the
// sweep's starting count: fans out early (shard sweeps are cheap), never late. The shard sweeps'
// figures, pooled, then give enough to go by.
const ASSUMED = { latencyMs: 500, inFlight: 16 };
// Answers (200s at the first attempt) it takes for a mean latency to say something.
const MIN_SAMPLES = 50;
// No Graph answers faster than this across the internet; less comes from a test or a simulator.
const MIN_LATENCY_MS = 20;
// A sweep's ramp-up, page reads and Graph's spread keep it under Little's bound: plan on 0.7 of it
// (as tenths, so whole numbers stay whole).
const EFFICIENCY_TENTHS = 7;

/** Whether `record` finished at most `maxAgeMs` before `now`, and not from further ahead than a skewed clock explains. */
export function finishedWithin(record: SweepRecord, now: Date, maxAgeMs: number): boolean {
  if (!(record.finishedAt instanceof Date)) return false;
  const age = now.getTime() - record.finishedAt.getTime();
  return age >= -FUTURE_TOLERANCE_MS && age <= maxAgeMs;
}

export function projectSweep({ records, now, budgetMs, ceiling, floor }: ProjectionInput): SweepProjection {
  const recent = (records ?? []).filter((r) => finishedWithin(r, now, PROJECTION_MAX_AGE_MS));
  const timer = recent.find((r) => r.scope === 'timer');
  const hold =
    timer?.summary !== undefined && ranOut(timer.summary)
      ? 'ranOut'
      : timer?.outcome === 'fanned-out' && timer.fanOutHeldUntil instanceof Date && timer.fanOutHeldUntil > now
        ? 'held'
        : undefined;

  let samples = 0;
  let latencyTotal = 0;
  let peak = 0;
  for (const { summary } of recent) {
    const n = summary?.latencySamples;
    const mean = summary?.meanLatencyMs;
    if (!isCount(n) || n === 0 || !isCount(mean)) continue;
    samples += n;
    latencyTotal += mean * n;
    if (isCount(summary!.peakInFlight)) peak = Math.max(peak, summary!.peakInFlight);
  }
  const observed = samples >= MIN_SAMPLES;
  const latencyMs = observed ? Math.max(MIN_LATENCY_MS, Math.round(latencyTotal / samples)) : ASSUMED.latencyMs;
  const inFlight = Math.max(Math.min(floor, ceiling), Math.min(ceiling, observed ? peak : ASSUMED.inFlight));
  const capacity = Math.max(0, Math.floor((EFFICIENCY_TENTHS * inFlight * budgetMs) / (10 * latencyMs)));
  return {
    capacity,
    latencyMs,
    inFlight,
    basis: observed ? 'observed' : 'assumed',
    hold,
    previousFannedOut: timer?.outcome === 'fanned-out',
  };
}

/**
 * The most calls the timer sweeps inline: none while a hold is on; after a fan-out, half the
 * capacity, so a table near the line does not swing between the two run after run; never above
 * SWEEP_FANOUT_THRESHOLD.
 */
export function inlineLimit(projection: SweepProjection, threshold: number): number {
  if (projection.hold) return 0;
  return Math.min(threshold, projection.previousFannedOut ? Math.floor(projection.capacity / 2) : projection.capacity);
}

function ranOut(summary: { skippedForBudget?: unknown; budgetExhausted?: unknown }): boolean {
  return (isCount(summary.skippedForBudget) && summary.skippedForBudget > 0) || summary.budgetExhausted === true;
}

// The summary is JSON another version (or a hand) may have written: each figure is checked.
function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** The projection in a log line's words. */
export function describeProjection(p: SweepProjection): string {
  const source = p.basis === 'observed' ? 'as recent sweeps saw Graph' : 'assumed: too few recent figures to go by';
  return `one instance keeps about ${p.capacity} calls alive in the sweep budget (${p.inFlight} in flight at ${p.latencyMs} ms, ${source})`;
}
