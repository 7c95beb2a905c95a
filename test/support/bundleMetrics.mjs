// Runs one keepAlive sweep through dist/main.js with an OpenTelemetry meter provider registered
// from node_modules, as Azure Monitor's distribution registers its own, and prints the names of the
// metrics the bundle recorded (one JSON line). Settings come from the environment.
import { createRequire } from 'node:module';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

class CollectOnDemand extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const reader = new CollectOnDemand();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const main = await import('../../dist/main.js');
const { InvocationContext } = createRequire(import.meta.url)('@azure/functions');
await main.keepAliveSweep(
  { isPastDue: false, schedule: { adjustForDST: true } },
  new InvocationContext({ functionName: 'keepAliveSweep' }),
);
const { resourceMetrics } = await reader.collect();
const names = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.descriptor.name));
console.log(JSON.stringify({ names }));
