import { CALL_PARTITION_COUNT } from '../calls/partitionKey.js';
import { KEEPALIVE_LIMIT_MINUTES } from '../keepAlive/keepAliveDue.js';
import type { SweepSummary } from '../keepAlive/sweepKeepAlive.js';
import { TIMER_SCOPE, type SweepOutcome, type SweepRecord } from '../keepAlive/sweepStatus.js';

export { KEEPALIVE_LIMIT_MINUTES };

export interface HealthThresholds {
  /** A call whose last successful keepAlive is older than this is at risk. */
  atRiskAfterMinutes: number;
  /** The timer runs every 5 minutes; a last sweep older than this means it has stopped. */
  sweepOverdueAfterMinutes: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = { atRiskAfterMinutes: 30, sweepOverdueAfterMinutes: 15 };

export interface LastSweep {
  mode: 'inline' | 'fanned-out';
  startedAt: string;
  finishedAt: string;
  /** For a fanned-out sweep: the worst outcome over the shards that have reported. */
  outcome: SweepOutcome;
  summary?: SweepSummary | undefined;
  error?: string | undefined;
  /** For a fanned-out sweep: how the shard sweeps of this run went so far. */
  shards?: { swept: number; failed: string[]; pending: number } | undefined;
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  /** Why it is unhealthy; empty when healthy. */
  problems: string[];
  /** Null when the call table could not be read. */
  activeCalls: number | null;
  /**
   * The oldest last-successful keepAlive now, estimated from the last sweep: the oldest age it left
   * plus the time since it finished (an upper bound; calls ended since may have been the oldest).
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
  if (!timer) {
    return { status: 'healthy', problems, activeCalls, oldestKeepAliveAgeMinutes: null, keepAliveLimitMinutes: KEEPALIVE_LIMIT_MINUTES, lastSweep: null };
  }

  const fannedOut = timer.outcome === 'fanned-out';
  // A fanned-out run is judged by its own shard sweeps: they carry the start of the run that enqueued them.
  const shardRecords = fannedOut ? records.filter((r) => r.scope !== TIMER_SCOPE && r.startedAt.getTime() === timer.startedAt.getTime()) : [];
  const swept = fannedOut ? shardRecords : [timer];
  const failedShards = shardRecords.filter((r) => r.outcome === 'failed').map((r) => r.scope).sort();
  const pending = fannedOut ? Math.max(0, CALL_PARTITION_COUNT - shardRecords.length) : 0;

  if (timer.outcome === 'failed') problems.push(`the last keepAlive sweep failed: ${timer.error ?? 'every keepAlive it sent failed'}`);
  if (failedShards.length > 0) problems.push(`keepAlive shard sweeps failed: ${failedShards.join(', ')}`);

  const sinceLast = minutesSince(timer.finishedAt);
  if (activeCalls > 0 && sinceLast > thresholds.sweepOverdueAfterMinutes) {
    problems.push(`the last keepAlive sweep finished ${round(sinceLast)} minutes ago; the timer runs every 5 minutes`);
  } else if (pending > 0 && sinceLast > thresholds.sweepOverdueAfterMinutes) {
    problems.push(`${pending} shard sweeps of the run started at ${timer.startedAt.toISOString()} have not reported`);
  }

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
    outcome: fannedOut ? worstOutcome(shardRecords.map((r) => r.outcome)) : timer.outcome,
    summary: timer.summary,
    error: timer.error,
    shards: fannedOut ? { swept: shardRecords.length, failed: failedShards, pending } : undefined,
  };
  return {
    status: problems.length > 0 ? 'unhealthy' : 'healthy',
    problems,
    activeCalls,
    oldestKeepAliveAgeMinutes: oldest,
    keepAliveLimitMinutes: KEEPALIVE_LIMIT_MINUTES,
    lastSweep,
  };
}

const SEVERITY: readonly SweepOutcome[] = ['ok', 'fanned-out', 'partial', 'failed'];

function worstOutcome(outcomes: readonly SweepOutcome[]): SweepOutcome {
  return outcomes.reduce<SweepOutcome>((worst, o) => (SEVERITY.indexOf(o) > SEVERITY.indexOf(worst) ? o : worst), 'ok');
}

function round(minutes: number): number {
  return Math.round(minutes * 10) / 10;
}
