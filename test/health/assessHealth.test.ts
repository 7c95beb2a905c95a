import { describe, expect, it } from 'vitest';
import { CALL_PARTITIONS } from '../../shared/calls/partitionKey.js';
import { assessHealth } from '../../shared/health/assessHealth.js';
import type { SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import type { SweepRecord } from '../../shared/keepAlive/sweepStatus.js';

const now = new Date('2026-11-23T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

function summary(change: Partial<SweepSummary> = {}): SweepSummary {
  return {
    active: 3,
    due: 1,
    sent: 1,
    ok: 1,
    ended: 0,
    failed: 0,
    unreadable: 0,
    skippedForBudget: 0,
    peakInFlight: 16,
    budgetExhausted: false,
    durationMs: 20,
    oldestKeepAliveAgeMinutes: 10,
    ...change,
  };
}

function inline(finishedMinutesAgo: number, change: Partial<SweepRecord> = {}): SweepRecord {
  const at = minutesAgo(finishedMinutesAgo);
  return { scope: 'timer', startedAt: at, finishedAt: at, outcome: 'ok', summary: summary(), ...change };
}

describe('assessHealth', () => {
  it('is healthy when the last sweep was recent and went well; the oldest age grows with the time since', () => {
    const report = assessHealth([inline(2)], 3, now);
    expect(report).toMatchObject({
      status: 'healthy',
      problems: [],
      activeCalls: 3,
      oldestKeepAliveAgeMinutes: 12,
      keepAliveLimitMinutes: 45,
    });
    expect(report.lastSweep).toMatchObject({ mode: 'inline', outcome: 'ok', finishedAt: minutesAgo(2).toISOString() });
  });

  it('is healthy, with no sweep to report, before the first sweep', () => {
    expect(assessHealth([], 0, now)).toMatchObject({ status: 'healthy', lastSweep: null, oldestKeepAliveAgeMinutes: null });
  });

  it.each([
    [
      'a call is at risk (older than 30 minutes)',
      [inline(4, { summary: summary({ oldestKeepAliveAgeMinutes: 27 }) })],
      3,
      /about 31 minutes old: at risk after 30, Graph drops it at 45/,
    ],
    [
      'the last sweep failed',
      [inline(1, { outcome: 'failed', summary: undefined, error: 'table unreachable' })],
      3,
      /the last keepAlive sweep failed: table unreachable/,
    ],
    [
      'every keepAlive of the last sweep failed',
      [inline(1, { outcome: 'failed', summary: summary({ ok: 0, failed: 1 }) })],
      3,
      /the last keepAlive sweep failed: every keepAlive it sent failed/,
    ],
    ['the timer has stopped while calls are active', [inline(16)], 1, /finished 16 minutes ago; the timer runs every 5 minutes/],
  ])('is unhealthy when %s', (_case, records, active, problem) => {
    const report = assessHealth(records, active, now);
    expect(report.status).toBe('unhealthy');
    expect(report.problems.join('\n')).toMatch(problem);
  });

  it('does not call an old sweep overdue when no call is active', () => {
    expect(assessHealth([inline(120)], 0, now)).toMatchObject({ status: 'healthy', oldestKeepAliveAgeMinutes: null });
  });

  it('counts a sweep where only some keepAlives failed as healthy, with its outcome shown', () => {
    const report = assessHealth([inline(1, { outcome: 'partial', summary: summary({ sent: 2, ok: 1, failed: 1 }) })], 3, now);
    expect(report).toMatchObject({ status: 'healthy', lastSweep: { outcome: 'partial' } });
  });

  describe('a fanned-out sweep', () => {
    const runStart = minutesAgo(3);
    const fanOut = (fannedOutSince: Date | undefined, startedAt = runStart): SweepRecord => ({
      scope: 'timer',
      startedAt,
      finishedAt: startedAt,
      outcome: 'fanned-out',
      fannedOutSince,
    });
    const shard = (name: string, change: Partial<SweepRecord> = {}): SweepRecord => ({
      scope: name,
      startedAt: runStart,
      finishedAt: minutesAgo(1),
      outcome: 'ok',
      summary: summary(),
      ...change,
    });
    const allShards = (change: (name: string, i: number) => Partial<SweepRecord> = () => ({})) =>
      CALL_PARTITIONS.map((name, i) => shard(name, change(name, i)));

    it('is healthy when every shard swept recently; the oldest age is the oldest over all shards', () => {
      const records = [
        fanOut(minutesAgo(60)),
        ...allShards((_, i) => (i === 7 ? { summary: summary({ oldestKeepAliveAgeMinutes: 14 }), finishedAt: minutesAgo(4) } : {})),
      ];
      const report = assessHealth(records, 50_000, now);
      expect(report).toMatchObject({
        status: 'healthy',
        oldestKeepAliveAgeMinutes: 18,
        lastSweep: { mode: 'fanned-out', outcome: 'ok', shards: { swept: 32, failed: [], overdue: [], pending: [] } },
      });
    });

    it('is unhealthy when no shard sweep has run since the fan-out began a sweep period and more ago', () => {
      const report = assessHealth([fanOut(minutesAgo(30))], 50_000, now);
      expect(report.status).toBe('unhealthy');
      expect(report.problems).toEqual([
        `32 shard sweeps have not reported since the sweep was fanned out at ${minutesAgo(30).toISOString()}: ${CALL_PARTITIONS.join(', ')}`,
      ]);
    });

    it('gives the shards of a fresh fan-out a sweep period and margin to report, and none when its start is unknown', () => {
      expect(assessHealth([fanOut(minutesAgo(3))], 50_000, now)).toMatchObject({
        status: 'healthy',
        oldestKeepAliveAgeMinutes: null,
        lastSweep: { shards: { swept: 0, pending: [...CALL_PARTITIONS] } },
      });
      expect(assessHealth([fanOut(undefined)], 50_000, now).problems).toEqual([
        `32 shard sweeps have not reported since the sweep was fanned out: ${CALL_PARTITIONS.join(', ')}`,
      ]);
    });

    it('is unhealthy when the shard sweeps of the previous run failed, however fresh the latest hand-out', () => {
      const previousRun = minutesAgo(8);
      const records = [
        fanOut(minutesAgo(60), minutesAgo(1)),
        ...allShards(() => ({
          startedAt: previousRun,
          finishedAt: minutesAgo(5),
          outcome: 'failed',
          summary: summary({ ok: 0, failed: 1, oldestKeepAliveAgeMinutes: 39 }),
        })),
      ];
      const report = assessHealth(records, 50_000, now);
      expect(report.status).toBe('unhealthy');
      expect(report.problems).toContain(`keepAlive shard sweeps failed: ${CALL_PARTITIONS.join(', ')}`);
      expect(report.oldestKeepAliveAgeMinutes).toBe(44);
      expect(report.problems.join('\n')).toMatch(/about 44 minutes old/);
      expect(report.lastSweep).toMatchObject({ outcome: 'failed', shards: { swept: 0, failed: [...CALL_PARTITIONS] } });
    });

    it('is unhealthy when one shard has not swept for longer than a sweep period and margin', () => {
      const records = [
        fanOut(minutesAgo(120)),
        ...allShards((name) => (name === 'shard-07' ? { finishedAt: minutesAgo(20), startedAt: minutesAgo(21) } : {})),
      ];
      const report = assessHealth(records, 50_000, now);
      expect(report.problems).toEqual(['keepAlive shard sweeps last finished more than 15 minutes ago: shard-07 (20 min)']);
      expect(report.lastSweep!.shards).toMatchObject({ swept: 31, overdue: ['shard-07'] });
    });

    it('does not count shard records from before the fan-out began (inline sweeps covered those shards since)', () => {
      const old = allShards(() => ({
        startedAt: minutesAgo(240),
        finishedAt: minutesAgo(240),
        outcome: 'failed',
        summary: summary({ oldestKeepAliveAgeMinutes: 40 }),
      }));
      expect(assessHealth([fanOut(minutesAgo(2)), ...old], 50_000, now)).toMatchObject({
        status: 'healthy',
        oldestKeepAliveAgeMinutes: null,
        lastSweep: { shards: { pending: [...CALL_PARTITIONS], failed: [] } },
      });
    });

    it('is not consulted while the timer sweeps inline', () => {
      const failedShards = allShards(() => ({ outcome: 'failed', summary: undefined, error: 'old' }));
      expect(assessHealth([inline(2), ...failedShards], 3, now)).toMatchObject({
        status: 'healthy',
        lastSweep: { mode: 'inline', shards: undefined },
      });
    });
  });
});

describe('no sweep record at all', () => {
  it('is healthy with no calls, and unhealthy with active calls that no sweep has reported on', () => {
    const now = new Date('2026-11-24T10:00:00Z');
    expect(assessHealth([], 0, now)).toMatchObject({ status: 'healthy', lastSweep: null });
    expect(assessHealth([], 5000, now)).toMatchObject({
      status: 'unhealthy',
      problems: ['5000 call(s) are active and no keepAlive sweep has reported yet'],
    });
  });
});
