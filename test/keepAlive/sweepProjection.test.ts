import { describe, expect, it } from 'vitest';
import type { SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import { inlineLimit, PROJECTION_MAX_AGE_MS, projectSweep, type SweepProjection } from '../../shared/keepAlive/sweepProjection.js';
import type { SweepRecord } from '../../shared/keepAlive/sweepStatus.js';

const now = new Date('2026-11-24T10:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const bounds = { now, budgetMs: 180_000, ceiling: 128, floor: 16 };

function summary(figures: Partial<SweepSummary>): SweepSummary {
  return {
    active: 1000,
    due: 1000,
    sent: 1000,
    ok: 1000,
    ended: 0,
    failed: 0,
    unreadable: 0,
    skippedForBudget: 0,
    peakInFlight: 128,
    meanLatencyMs: 50,
    latencySamples: 1000,
    budgetExhausted: false,
    durationMs: 1000,
    oldestKeepAliveAgeMinutes: 0,
    ...figures,
  };
}

function record(scope: string, finishedMinutesAgo: number, figures?: Partial<SweepSummary>, extra: Partial<SweepRecord> = {}): SweepRecord {
  const at = minutesAgo(finishedMinutesAgo);
  return { scope, startedAt: at, finishedAt: at, outcome: 'ok', summary: figures && summary(figures), ...extra };
}

const fannedOut = (finishedMinutesAgo: number, extra: Partial<SweepRecord> = {}) =>
  record('timer', finishedMinutesAgo, undefined, { outcome: 'fanned-out', ...extra });

describe('projectSweep', () => {
  it('plans on a slow Graph at the starting count when recent sweeps give too few figures', () => {
    const few = [record('shard-01', 1, { latencySamples: 20 }), record('shard-02', 1, { latencySamples: 29 })];
    for (const records of [undefined, [], [fannedOut(1)], few]) {
      expect(projectSweep({ ...bounds, records })).toEqual({
        // 0.7 x 16 in flight / 500 ms x 180 s
        capacity: 4032,
        latencyMs: 500,
        inFlight: 16,
        basis: 'assumed',
        hold: undefined,
        previousFannedOut: records?.length === 1,
      });
    }
  });

  it('pools the recent figures, each mean weighted by its answers, at the highest count reached', () => {
    const records = [
      record('shard-01', 3, { meanLatencyMs: 200, latencySamples: 30, peakInFlight: 100 }),
      record('shard-02', 1, { meanLatencyMs: 600, latencySamples: 30, peakInFlight: 128 }),
      fannedOut(2),
    ];
    // (200 x 30 + 600 x 30) / 60 = 400 ms; 0.7 x 128 / 400 ms x 180 s
    expect(projectSweep({ ...bounds, records })).toMatchObject({ capacity: 40_320, latencyMs: 400, inFlight: 128, basis: 'observed' });
    expect(projectSweep({ ...bounds, budgetMs: 60_000, records })).toMatchObject({ capacity: 13_440 });
  });

  it('keeps the in-flight count within the floor and the ceiling, and the latency above what no Graph answers in', () => {
    expect(projectSweep({ ...bounds, records: [record('timer', 1, { peakInFlight: 500 })] })).toMatchObject({ inFlight: 128 });
    expect(projectSweep({ ...bounds, records: [record('timer', 1, { peakInFlight: 4 })] })).toMatchObject({ inFlight: 16 });
    expect(projectSweep({ ...bounds, records: [record('timer', 1, { meanLatencyMs: 0 })] })).toMatchObject({ latencyMs: 20 });
  });

  it('goes by no figures that are stale, dated ahead, or made of retried and failed requests', () => {
    const stale = record('timer', PROJECTION_MAX_AGE_MS / 60_000 + 1, { meanLatencyMs: 50 });
    const ahead = record('shard-04', -10, { meanLatencyMs: 20 });
    // 60 sent, one answer at the first attempt: one latency sample.
    const failing = record('shard-03', 1, { meanLatencyMs: 30, ok: 1, failed: 59, latencySamples: 1 });
    expect(projectSweep({ ...bounds, records: [stale, ahead, failing] })).toMatchObject({ basis: 'assumed', latencyMs: 500 });
    expect(projectSweep({ ...bounds, records: [record('shard-04', -1, { meanLatencyMs: 80 })] })).toMatchObject({ latencyMs: 80 });
  });

  it('skips figures another version or a hand wrote wrong, and records without a date', () => {
    const bad = [
      record('shard-05', 1, { meanLatencyMs: 'fast' as unknown as number }),
      record('shard-06', 1, { latencySamples: -5 }),
      { ...record('shard-07', 1, { meanLatencyMs: 10 }), finishedAt: '2026-11-24T09:59:00Z' as unknown as Date },
      { ...record('shard-08', 1), summary: null as unknown as undefined },
    ];
    expect(projectSweep({ ...bounds, records: bad })).toMatchObject({ basis: 'assumed' });
  });

  it('holds the fan-out when the last inline timer sweep ran out, and while a hold is on', () => {
    expect(projectSweep({ ...bounds, records: [record('timer', 4, { skippedForBudget: 3 })] }).hold).toBe('ranOut');
    expect(projectSweep({ ...bounds, records: [record('timer', 4, { budgetExhausted: true })] }).hold).toBe('ranOut');
    expect(projectSweep({ ...bounds, records: [record('shard-00', 4, { skippedForBudget: 3 })] }).hold).toBeUndefined();
    expect(projectSweep({ ...bounds, records: [record('timer', 4, {})] }).hold).toBeUndefined();
    expect(projectSweep({ ...bounds, records: [fannedOut(4, { fanOutHeldUntil: minutesAgo(-30) })] }).hold).toBe('held');
    expect(projectSweep({ ...bounds, records: [fannedOut(4, { fanOutHeldUntil: minutesAgo(1) })] }).hold).toBeUndefined();
  });
});

describe('inlineLimit', () => {
  const projection = (p: Partial<SweepProjection>): SweepProjection => ({
    capacity: 30_000,
    latencyMs: 500,
    inFlight: 128,
    basis: 'observed',
    hold: undefined,
    previousFannedOut: false,
    ...p,
  });

  it('is the capacity, within SWEEP_FANOUT_THRESHOLD', () => {
    expect(inlineLimit(projection({}), 200_000)).toBe(30_000);
    expect(inlineLimit(projection({}), 20_000)).toBe(20_000);
  });

  it('is half the capacity after a fan-out, so a table near the line does not swing between the two', () => {
    expect(inlineLimit(projection({ previousFannedOut: true }), 200_000)).toBe(15_000);
  });

  it('is nothing while a hold is on', () => {
    expect(inlineLimit(projection({ hold: 'ranOut' }), 200_000)).toBe(0);
    expect(inlineLimit(projection({ hold: 'held' }), 200_000)).toBe(0);
  });
});
