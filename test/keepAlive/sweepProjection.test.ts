import { describe, expect, it } from 'vitest';
import type { SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import { PROJECTION_MAX_AGE_MS, projectSweep } from '../../shared/keepAlive/sweepProjection.js';
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
    budgetExhausted: false,
    durationMs: 1000,
    oldestKeepAliveAgeMinutes: 0,
    ...figures,
  };
}

function record(scope: string, finishedMinutesAgo: number, figures?: Partial<SweepSummary>): SweepRecord {
  const at = minutesAgo(finishedMinutesAgo);
  return { scope, startedAt: at, finishedAt: at, outcome: 'ok', summary: figures && summary(figures) };
}

describe('projectSweep', () => {
  it('plans on a slow Graph at the starting count when no sweep has figures', () => {
    for (const records of [undefined, [], [record('timer', 1)]]) {
      expect(projectSweep({ ...bounds, records })).toEqual({
        // 0.7 x 16 in flight / 500 ms x 180 s
        capacity: 4032,
        latencyMs: 500,
        inFlight: 16,
        basis: 'assumed',
        previousRanOut: false,
      });
    }
  });

  it("uses the newest recent sweep's latency and the count it reached", () => {
    const records = [
      record('shard-01', 3, { meanLatencyMs: 200, peakInFlight: 100 }),
      record('shard-02', 1, { meanLatencyMs: 500, peakInFlight: 128 }),
      record('timer', 2, { meanLatencyMs: 50, peakInFlight: 64 }),
    ];
    // 0.7 x 128 / 500 ms x 180 s: the 100,000-call table at 500 ms is handed out.
    expect(projectSweep({ ...bounds, records })).toMatchObject({ capacity: 32_256, latencyMs: 500, inFlight: 128, basis: 'observed' });
    expect(projectSweep({ ...bounds, budgetMs: 60_000, records })).toMatchObject({ capacity: 10_752 });
  });

  it('keeps the in-flight count within the floor and the ceiling', () => {
    expect(projectSweep({ ...bounds, records: [record('timer', 1, { peakInFlight: 500 })] })).toMatchObject({ inFlight: 128 });
    expect(projectSweep({ ...bounds, records: [record('timer', 1, { peakInFlight: 4 })] })).toMatchObject({ inFlight: 16 });
  });

  it('goes by no figures that are stale or come from too few answers', () => {
    const stale = record('timer', PROJECTION_MAX_AGE_MS / 60_000 + 1, { meanLatencyMs: 50 });
    const few = record('shard-03', 1, { meanLatencyMs: 50, ok: 30, failed: 19 });
    expect(projectSweep({ ...bounds, records: [stale, few] })).toMatchObject({ basis: 'assumed', latencyMs: 500 });
    const enough = record('shard-03', 1, { meanLatencyMs: 50, ok: 30, failed: 20 });
    expect(projectSweep({ ...bounds, records: [enough] })).toMatchObject({ basis: 'observed', latencyMs: 50 });
  });

  it('says when the last inline timer sweep ran out of its budget, not a shard', () => {
    expect(projectSweep({ ...bounds, records: [record('timer', 4, { skippedForBudget: 3 })] }).previousRanOut).toBe(true);
    expect(projectSweep({ ...bounds, records: [record('timer', 4, { budgetExhausted: true })] }).previousRanOut).toBe(true);
    expect(projectSweep({ ...bounds, records: [record('shard-00', 4, { skippedForBudget: 3 })] }).previousRanOut).toBe(false);
    expect(projectSweep({ ...bounds, records: [record('timer', 4, {})] }).previousRanOut).toBe(false);
  });
});
