import { metrics } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import type { SweepSummary } from './keepAlive/sweepKeepAlive.js';

// The signals that matter most, through OpenTelemetry's API: metrics are not sampled, and a custom
// event is a record of its own, not a line inside a trace message that sampling may drop. Without a
// registered SDK (tests, local runs) the API does nothing; the composition root registers Azure
// Monitor's (functions/app/telemetry.ts). https://learn.microsoft.com/en-us/azure/azure-monitor/app/opentelemetry-add-modify

const meter = () => metrics.getMeter('teams-calling-bot');
const eventLogger = () => logs.getLogger('teams-calling-bot');

// Azure Monitor turns a log record with this attribute into a row of `customEvents`.
const CUSTOM_EVENT_NAME = 'microsoft.custom_event.name';

/** What a finished sweep reports (its summary's figures). */
export type SweepFigures = Pick<
  SweepSummary,
  'active' | 'due' | 'sent' | 'ok' | 'ended' | 'failed' | 'unreadable' | 'skippedForBudget' | 'oldestKeepAliveAgeMinutes'
>;

const SWEEP_COUNTS = ['active', 'due', 'sent', 'ok', 'ended', 'failed', 'unreadable', 'skippedForBudget'] as const;

/**
 * A sweep's figures as metrics: `keepalive.sweep.calls` (one gauge, the figure in the `count`
 * attribute), `keepalive.oldest_age_minutes`, and `keepalive.sweeps` counted by outcome; `scope` is
 * `timer` or the shard.
 */
export function recordSweep(figures: SweepFigures, scope: string, outcome: string): void {
  const m = meter();
  const calls = m.createGauge('keepalive.sweep.calls', { description: 'Calls a keepAlive sweep saw, by what happened to them' });
  for (const count of SWEEP_COUNTS) calls.record(figures[count], { scope, count });
  if (figures.oldestKeepAliveAgeMinutes !== undefined) {
    m.createGauge('keepalive.oldest_age_minutes', { unit: 'min', description: 'Oldest last successful keepAlive after a sweep' }).record(
      figures.oldestKeepAliveAgeMinutes,
      { scope },
    );
  }
  m.createCounter('keepalive.sweeps', { description: 'keepAlive sweeps, by outcome' }).add(1, { scope, outcome });
}

/** Graph dropped a call for a missing keepAlive (408/8537): a counter and a custom event with the call id. */
export function recordCallDropped(callId: string, code: number | undefined, subcode: number | undefined): void {
  meter().createCounter('calls.dropped_for_missing_keepalive', { description: 'Calls Graph ended for a missing keepAlive' }).add(1);
  eventLogger().emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: `Call ${callId} was dropped by Graph for a missing keepAlive`,
    attributes: { [CUSTOM_EVENT_NAME]: 'CallDroppedForMissingKeepAlive', callId, resultCode: code ?? -1, resultSubcode: subcode ?? -1 },
  });
}

/**
 * New calls' rows written together (an entity group transaction) failed and were written one by
 * one: now and then for a duplicate delivery (409); always, for a store that refuses transactions.
 */
export function recordInsertBatchFallback(status: number | undefined): void {
  meter()
    .createCounter('calls.store.insert_batch_fallbacks', {
      description: 'Transactions of new call rows that failed and were written row by row',
    })
    .add(1, { status: status ?? 'none' });
}
