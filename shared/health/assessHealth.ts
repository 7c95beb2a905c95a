import { CALL_PARTITIONS } from '../calls/partitionKey.js';
import { KEEPALIVE_LIMIT_MINUTES } from '../keepAlive/keepAliveDue.js';
import type { SweepSummary } from '../keepAlive/sweepKeepAlive.js';
import { TIMER_SCOPE, type SweepOutcome, type SweepRecord } from '../keepAlive/sweepStatus.js';

export { KEEPALIVE_LIMIT_MINUTES };

export interface HealthThresholds {
  /** A call whose last successful keepAlive is older than this is at risk. */
  atRiskAfterMinutes: number;
  /**
   * The timer runs every 5 minutes: a sweep (the timer's, or a shard's) that last finished longer
   * ago than this, a period plus margin, has stopped.
   */
  sweepOverdueAfterMinutes: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = { atRiskAfterMinutes: 30, sweepOverdueAfterMinutes: 15 };

export interface LastSweep {
  mode: 'inline' | 'fanned-out';
  startedAt: string;
  finishedAt: string;
  /** For a fanned-out sweep: the worst outcome over the shards' latest sweeps. */
  outcome: SweepOutcome;
  summary?: SweepSummary | undefined;
  error?: string | undefined;
  /** For a fanned-out sweep: each shard as its own latest sweep left it. */
  shards?: ShardsReport | undefined;
}

export interface ShardsReport {
  /** When the timer began handing sweeps out, run after run; null when unknown. */
  fannedOutSince: string | null;
  /** Shards whose latest sweep (since the fan-out began) went well enough and is recent. */
  swept: number;
  /** Shards whose latest sweep failed. */
  failed: string[];
  /** Shards whose latest sweep finished longer ago than a sweep period plus margin. */
  overdue: string[];
  /** Shards with no sweep since the fan-out began. */
  pending: string[];
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  /** Why it is unhealthy; empty when healthy. */
  problems: string[];
  /** Null when the call table could not be read. */
  activeCalls: number | null;
  /**
   * The age of the oldest last-successful keepAlive now, estimated from the latest sweeps (the inline
   * sweep, or each shard's): the oldest age each one saw plus the time since it finished, the largest
   * of these. An estimate, not a bound: a call that has ended or been kept alive since makes it too
   * high; calls those sweeps did not see make it too low (shards whose sweep has not reported, which
   * are problems of their own; rows whose dates cannot be read; rows past the point where a sweep's
   * time budget ran out). Null when no call is active or no sweep has reported an age.
   */
  oldestKeepAliveAgeMinutes: number | null;
  keepAliveLimitMinutes: number;
  lastSweep: LastSweep | null;
}

/** Decides whether calls are being kept alive, from the latest sweep records and the active-call count. */
export function assessHealth(
  records: readonly SweepRecord[],
  activeCalls: number,
  now: Date,
  thresholds: HealthThresholds = DEFAULT_HEALTH_THRESHOLDS,
): HealthReport {
  const problems: string[] = [];
  const timer = records.find((r) => r.scope === TIMER_SCOPE);
  const minutesSince = (at: Date) => (now.getTime() - at.getTime()) / 60_000;
  const report = (oldestKeepAliveAgeMinutes: number | null, lastSweep: LastSweep | null): HealthReport => ({
    status: problems.length > 0 ? 'unhealthy' : 'healthy',
    problems,
    activeCalls,
    oldestKeepAliveAgeMinutes,
    keepAliveLimitMinutes: KEEPALIVE_LIMIT_MINUTES,
    lastSweep,
  });
  if (!timer) {
    // Nothing says these calls are kept alive: the timer never ran (or disabled), or its records
    // cannot be written. A brand-new deployment shows this until its first sweep, at most 5 minutes.
    if (activeCalls > 0) problems.push(`${activeCalls} call(s) are active and no keepAlive sweep has reported yet`);
    return report(null, null);
  }

  if (timer.outcome === 'failed') problems.push(`the last keepAlive sweep failed: ${timer.error ?? 'every keepAlive it sent failed'}`);
  const sinceLast = minutesSince(timer.finishedAt);
  if (activeCalls > 0 && sinceLast > thresholds.sweepOverdueAfterMinutes) {
    problems.push(`the last keepAlive sweep finished ${round(sinceLast)} minutes ago; the timer runs every 5 minutes`);
  }

  const fannedOut = timer.outcome === 'fanned-out';
  // An inline sweep covers every partition, so shard records (left from an earlier fan-out) do not count.
  const shards = fannedOut ? judgeShards(records, timer, activeCalls, now, thresholds) : undefined;
  if (shards) problems.push(...shards.problems);
  const swept = shards ? shards.current : [timer];

  const ages = swept
    .filter((r) => r.summary?.oldestKeepAliveAgeMinutes != null)
    .map((r) => r.summary!.oldestKeepAliveAgeMinutes! + minutesSince(r.finishedAt));
  const oldest = ages.length > 0 && activeCalls > 0 ? round(Math.max(...ages)) : null;
  if (oldest !== null && oldest > thresholds.atRiskAfterMinutes) {
    problems.push(
      `a call's last successful keepAlive is about ${oldest} minutes old: at risk after ${thresholds.atRiskAfterMinutes}, Graph drops it at ${KEEPALIVE_LIMIT_MINUTES}`,
    );
  }

  const lastSweep: LastSweep = {
    mode: fannedOut ? 'fanned-out' : 'inline',
    startedAt: timer.startedAt.toISOString(),
    finishedAt: timer.finishedAt.toISOString(),
    outcome: shards ? worstOutcome(shards.current.map((r) => r.outcome)) : timer.outcome,
    summary: timer.summary,
    error: timer.error,
    shards: shards?.report,
  };
  return report(oldest, lastSweep);
}

/**
 * Each shard judged by its own latest sweep record, whichever timer run enqueued it: a shard whose
 * sweeps stopped, or failed in an earlier run, is seen however recent the timer's hand-out is. A
 * record from before the current fan-out began (an earlier fan-out, before the table went back to
 * inline sweeps, which covered every shard) does not count; a shard without one since is given a
 * sweep period plus margin from the fan-out's start before that is a problem.
 */
function judgeShards(
  records: readonly SweepRecord[],
  timer: SweepRecord,
  activeCalls: number,
  now: Date,
  thresholds: HealthThresholds,
): { current: SweepRecord[]; problems: string[]; report: ShardsReport } {
  const minutesSince = (at: Date) => (now.getTime() - at.getTime()) / 60_000;
  const since = timer.fannedOutSince;
  const latest = new Map(records.filter((r) => r.scope !== TIMER_SCOPE).map((r) => [r.scope, r]));
  const current: SweepRecord[] = [];
  const report: ShardsReport = { fannedOutSince: since?.toISOString() ?? null, swept: 0, failed: [], overdue: [], pending: [] };
  const overdueFor: string[] = [];
  for (const shard of CALL_PARTITIONS) {
    const record = latest.get(shard);
    if (!record || (since && record.finishedAt < since)) {
      report.pending.push(shard);
    } else if (record.outcome === 'failed') {
      // Whichever run it belonged to: nothing has swept the shard since.
      report.failed.push(shard);
      current.push(record);
    } else {
      current.push(record);
      const age = minutesSince(record.finishedAt);
      if (age > thresholds.sweepOverdueAfterMinutes) {
        report.overdue.push(shard);
        overdueFor.push(`${shard} (${round(age)} min)`);
      } else {
        report.swept++;
      }
    }
  }

  const problems: string[] = [];
  if (report.failed.length > 0) problems.push(`keepAlive shard sweeps failed: ${report.failed.join(', ')}`);
  if (activeCalls > 0 && overdueFor.length > 0) {
    problems.push(
      `keepAlive shard sweeps last finished more than ${thresholds.sweepOverdueAfterMinutes} minutes ago: ${overdueFor.join(', ')}`,
    );
  }
  const fanOutAge = since ? minutesSince(since) : Infinity;
  if (activeCalls > 0 && report.pending.length > 0 && fanOutAge > thresholds.sweepOverdueAfterMinutes) {
    problems.push(
      `${report.pending.length} shard sweeps have not reported since the sweep was fanned out` +
        `${since ? ` at ${since.toISOString()}` : ''}: ${report.pending.join(', ')}`,
    );
  }
  return { current, problems, report };
}

const SEVERITY: readonly SweepOutcome[] = ['ok', 'fanned-out', 'partial', 'failed'];

function worstOutcome(outcomes: readonly SweepOutcome[]): SweepOutcome {
  return outcomes.reduce<SweepOutcome>((worst, o) => (SEVERITY.indexOf(o) > SEVERITY.indexOf(worst) ? o : worst), 'ok');
}

function round(minutes: number): number {
  return Math.round(minutes * 10) / 10;
}
