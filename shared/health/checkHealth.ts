import type { CallStore } from '../calls/callStore.js';
import type { SweepStatusStore } from '../keepAlive/sweepStatus.js';
import { assessHealth, KEEPALIVE_LIMIT_MINUTES, type HealthReport } from './assessHealth.js';

export interface HealthDeps {
  store: Pick<CallStore, 'countActive'>;
  sweepStatus: SweepStatusStore;
  clock: () => Date;
}

/**
 * Reads what the health check needs (the active-call count, which also proves the call table is
 * reachable, and the latest sweep records) and assesses it. Storage that cannot be read is itself
 * a finding, reported with the reason, never thrown past the caller.
 */
export async function checkHealth({ store, sweepStatus, clock }: HealthDeps): Promise<HealthReport> {
  const [active, records] = await Promise.allSettled([store.countActive(), sweepStatus.all()]);
  if (active.status === 'rejected' || records.status === 'rejected') {
    const problems = [
      ...(active.status === 'rejected' ? [`the call table is unreachable: ${reasonOf(active.reason)}`] : []),
      ...(records.status === 'rejected' ? [`the sweep status table is unreachable: ${reasonOf(records.reason)}`] : []),
    ];
    return {
      status: 'unhealthy',
      problems,
      activeCalls: active.status === 'fulfilled' ? active.value : null,
      oldestKeepAliveAgeMinutes: null,
      keepAliveLimitMinutes: KEEPALIVE_LIMIT_MINUTES,
      lastSweep: null,
    };
  }
  return assessHealth(records.value, active.value, clock());
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
