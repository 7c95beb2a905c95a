import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../shared/health/assessHealth.js';
import type { SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import type { SweepRecord } from '../../shared/keepAlive/sweepStatus.js';

const now = new Date('2026-11-23T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

function summary(change: Partial<SweepSummary> = {}): SweepSummary {
  return { active: 3, due: 1, sent: 1, ok: 1, ended: 0, failed: 0, unreadable: 0, skippedForBudget: 0, budgetExhausted: false, durationMs: 20, oldestKeepAliveAgeMinutes: 10, ...change };
}

function inline(finishedMinutesAgo: number, change: Partial<SweepRecord> = {}): SweepRecord {
  const at = minutesAgo(finishedMinutesAgo);
  return { scope: 'timer', startedAt: at, finishedAt: at, outcome: 'ok', summary: summary(), ...change };
}

describe('assessHealth', () => {
  it('is healthy when the last sweep was recent and went well; the oldest age grows with the time since', () => {
    const report = assessHealth([inline(2)], 3, now);
    expect(report).toMatchObject({ status: 'healthy', problems: [], activeCalls: 3, oldestKeepAliveAgeMinutes: 12, keepAliveLimitMinutes: 45 });
    expect(report.lastSweep).toMatchObject({ mode: 'inline', outcome: 'ok', finishedAt: minutesAgo(2).toISOString() });
  });

  it('is healthy, with no sweep to report, before the first sweep', () => {
    expect(assessHealth([], 0, now)).toMatchObject({ status: 'healthy', lastSweep: null, oldestKeepAliveAgeMinutes: null });
  });

  it.each([
    ['a call is at risk (older than 30 minutes)', [inline(4, { summary: summary({ oldestKeepAliveAgeMinutes: 27 }) })], 3, /about 31 minutes old: at risk after 30, Graph drops it at 45/],
    ['the last sweep failed', [inline(1, { outcome: 'failed', summary: undefined, error: 'table unreachable' })], 3, /the last keepAlive sweep failed: table unreachable/],
    ['every keepAlive of the last sweep failed', [inline(1, { outcome: 'failed', summary: summary({ ok: 0, failed: 1 }) })], 3, /the last keepAlive sweep failed: every keepAlive it sent failed/],
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
    const timer: SweepRecord = { scope: 'timer', startedAt: runStart, finishedAt: runStart, outcome: 'fanned-out' };
    const shard = (name: string, change: Partial<SweepRecord> = {}): SweepRecord => ({
      scope: name,
      startedAt: runStart,
      finishedAt: minutesAgo(1),
      outcome: 'ok',
      summary: summary(),
      ...change,
    });

    it('is judged by the shard sweeps of its own run, not those of an earlier one', () => {
      const earlier: SweepRecord = shard('shard-05', { startedAt: minutesAgo(8), outcome: 'failed', summary: undefined, error: 'old' });
      const report = assessHealth([timer, shard('shard-00'), shard('shard-01', { summary: summary({ oldestKeepAliveAgeMinutes: 14 }) }), earlier], 50_000, now);
      expect(report).toMatchObject({
        status: 'healthy',
        oldestKeepAliveAgeMinutes: 15,
        lastSweep: { mode: 'fanned-out', outcome: 'ok', shards: { swept: 2, failed: [], pending: 30 } },
      });
    });

    it('is unhealthy when a shard sweep of the run failed', () => {
      const report = assessHealth([timer, shard('shard-03', { outcome: 'failed', summary: undefined, error: 'boom' }), shard('shard-04')], 50_000, now);
      expect(report.status).toBe('unhealthy');
      expect(report.problems).toContain('keepAlive shard sweeps failed: shard-03');
      expect(report.lastSweep).toMatchObject({ outcome: 'failed', shards: { failed: ['shard-03'] } });
    });
  });
});
