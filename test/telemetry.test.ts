import { metrics } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { LoggerProvider, type LogRecordProcessor, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { settleWithin, startTelemetry } from '../functions/app/telemetry.js';
import { terminatedNotification } from '../tools/graphSimulator.js';
import { startHarness, type Harness } from './support/harness.js';

// The app's signals through the real OpenTelemetry SDK, exported in memory instead of to Azure Monitor.
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
// The SDK hands every emitted record to its processors; this one keeps them.
const emitted: SdkLogRecord[] = [];
const keepRecords: LogRecordProcessor = {
  onEmit: (record) => void emitted.push(record),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
let h: Harness;

beforeAll(async () => {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [keepRecords] }));
  h = await startHarness();
});
afterAll(() => h.stop());

async function exported(): Promise<Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>> {
  await reader.forceFlush();
  const byName = new Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>();
  for (const resource of metricExporter.getMetrics()) {
    for (const scope of resource.scopeMetrics) {
      for (const metric of scope.metrics) {
        byName.set(
          metric.descriptor.name,
          metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
        );
      }
    }
  }
  return byName;
}

it('reports a sweep as metrics, not as a line in a trace', async () => {
  await h.establishedCall();
  h.clock.advanceMinutes(15);
  await h.sweep();
  const byName = await exported();
  expect(byName.get('keepalive.sweep.calls')).toEqual(
    expect.arrayContaining([
      { attributes: { scope: 'timer', count: 'sent' }, value: 1 },
      { attributes: { scope: 'timer', count: 'ok' }, value: 1 },
      { attributes: { scope: 'timer', count: 'failed' }, value: 0 },
    ]),
  );
  expect(byName.get('keepalive.sweeps')).toEqual([{ attributes: { scope: 'timer', outcome: 'ok' }, value: 1 }]);
  expect(byName.get('keepalive.oldest_age_minutes')![0]!.attributes).toEqual({ scope: 'timer' });
  expect(h.logs.some((l) => l.message.startsWith('keepAliveSweepSummary '))).toBe(false);
});

it('reports a call dropped for a missing keepAlive as a custom event with its call id, and counts it', async () => {
  const call = await h.establishedCall();
  await h.post(terminatedNotification(call.id, { code: 408, subcode: 8537, message: 'Call was terminated due to inactivity' }));
  const event = emitted.find((r) => r.attributes['callId'] === call.id);
  expect(event?.attributes).toMatchObject({
    'microsoft.custom_event.name': 'CallDroppedForMissingKeepAlive',
    callId: call.id,
    resultCode: 408,
    resultSubcode: 8537,
  });
  expect((await exported()).get('calls.dropped_for_missing_keepalive')).toEqual([{ attributes: {}, value: 1 }]);
});

it('registers no telemetry SDK (and loads none) without an Application Insights connection string', async () => {
  expect(await startTelemetry({})).toBe(false);
});

it('gives the distribution a bounded time to stop, and reports, never throws, what it could not do', async () => {
  const reasons: string[] = [];
  const report = (reason: string) => void reasons.push(reason);
  await settleWithin(() => new Promise<never>(() => undefined), 20, report);
  await settleWithin(() => Promise.reject(new Error('export failed: 503')), 20, report);
  await settleWithin(
    () => {
      throw new Error('shut down twice');
    },
    20,
    report,
  );
  await settleWithin(() => Promise.resolve('sent'), 20, report);
  expect(reasons).toEqual(['not done within 20 ms', 'export failed: 503', 'shut down twice']);
});

it('registers the flush with the host as an appTerminate hook', async () => {
  // Outside the Functions worker, @azure/functions is in test mode: registering a hook only warns.
  const warnings: string[] = [];
  const warn = vi.spyOn(console, 'warn').mockImplementation((message: string) => void warnings.push(message));
  try {
    await import('../functions/flushTelemetry.js');
  } finally {
    warn.mockRestore();
  }
  expect(warnings).toEqual([expect.stringContaining('register appTerminate hook')]);
});
