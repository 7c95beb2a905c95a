import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { createAzureSdkInstrumentation } from '@azure/opentelemetry-instrumentation-azure-sdk';
import * as coreTracing from '@azure/core-tracing';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { registerAppInstrumentations } from '../functions/app/telemetry.js';
import { startHarness, type Harness } from './support/harness.js';

// The instrumentations the composition root adds to Azure Monitor's distribution, with the
// distribution's own HTTP instrumentation registered first as `useAzureMonitor` does, on a real
// OpenTelemetry tracer provider that keeps its spans in memory.
const spans = new InMemorySpanExporter();
let h: Harness;
const warnings: string[] = [];

beforeAll(async () => {
  // As the distribution does: the provider, and a context manager that carries the active span.
  new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register();
  // Outside the Functions worker, @azure/functions is in test mode: registering a hook only warns.
  // The warning is the sign that the instrumentation reached the app's `@azure/functions`.
  vi.spyOn(console, 'warn').mockImplementation((message: string) => void warnings.push(message));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
  await registerAppInstrumentations();
  vi.restoreAllMocks();
  h = await startHarness();
});
afterAll(() => h.stop());

it('hooks the Functions app: invocations carry the host trace context, logs go out from the worker', () => {
  expect(warnings).toEqual(
    expect.arrayContaining([expect.stringContaining('register preInvocation hook'), expect.stringContaining('register log hook')]),
  );
});

it('records each Graph request (sent with node:https) as a client span with its status code', async () => {
  const call = await h.establishedCall();
  h.sim.failNext('keepAlive', { status: 503, retryAfterSeconds: 0, times: 1 });
  h.clock.advanceMinutes(15);
  await h.sweep();
  const keepAlives = spans
    .getFinishedSpans()
    // The HTTP instrumentation names its attributes by the older HTTP conventions unless told
    // otherwise (OTEL_SEMCONV_STABILITY_OPT_IN); either naming is a dependency in Application Insights.
    .map((s) => ({
      url: String(s.attributes['url.full'] ?? s.attributes['http.url']),
      method: s.attributes['http.request.method'] ?? s.attributes['http.method'],
      status: s.attributes['http.response.status_code'] ?? s.attributes['http.status_code'],
    }))
    .filter((s) => s.url.endsWith(`/communications/calls/${call.id}/keepAlive`))
    .map(({ method, status }) => ({ method, status }));
  expect(keepAlives).toEqual([
    { method: 'POST', status: 503 },
    { method: 'POST', status: 200 },
  ]);
});

it('records a Table request once, as the Azure SDK span, not again as a bare HTTP request under it', async () => {
  // What the distribution's Azure SDK instrumentation does when it sees @azure/core-tracing
  // required (the tests load it as an ES module, which its hook does not see).
  const sdkInstrumentation = createAzureSdkInstrumentation() as unknown as {
    getModuleDefinitions(): Array<{ patch?: (exports: typeof coreTracing) => unknown }>;
  };
  for (const definition of sdkInstrumentation.getModuleDefinitions()) definition.patch?.(coreTracing);
  spans.reset();

  expect(await h.runtime.store.get('no-such-call')).toBeUndefined();

  const toTable = spans
    .getFinishedSpans()
    .filter((s) => /\/calls[0-9a-f]+\(/.test(String(s.attributes['url.full'] ?? s.attributes['http.url'])))
    .map((s) => `${s.instrumentationScope.name} ${s.name}`);
  expect(toTable).toEqual(['@azure/core-rest-pipeline HTTP GET']);
});
