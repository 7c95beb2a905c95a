import { createRequire } from 'node:module';
import { untilAborted } from '../../shared/deadline.js';
import { createManagedIdentityCredential } from '../../shared/managedIdentity.js';

/**
 * Registers Azure Monitor's OpenTelemetry distribution when the app has an Application Insights
 * connection string: the app's metrics and custom events (shared/telemetry.ts), its logs, Table
 * requests as dependencies (the distribution's HTTP and Azure SDK instrumentations), and what the
 * distribution leaves out (`registerAppInstrumentations`). The host sends its own telemetry through
 * OpenTelemetry too (host.json `telemetryMode`). Loaded only when configured: it is the heaviest
 * part of the app, and a cold start must stay inside Graph's answer window.
 * https://learn.microsoft.com/en-us/azure/azure-functions/opentelemetry-howto
 *
 * Telemetry that cannot start (a malformed connection string: the exporter refuses it) is logged
 * and left off. Thrown from here it would stop the app from loading at all, and no call would be
 * answered.
 */
export async function startTelemetry(
  env: Readonly<Record<string, string | undefined>> = process.env,
  log: Pick<Console, 'error'> = console,
): Promise<boolean> {
  const connectionString = env['APPLICATIONINSIGHTS_CONNECTION_STRING'];
  if (!connectionString) return false;
  try {
    const { useAzureMonitor, shutdownAzureMonitor } = await import('@azure/monitor-opentelemetry');
    // With local authentication off (infra/), telemetry is sent with the app's identity. (The
    // distribution's live metrics import the identity library as it starts; the Graph token needs
    // it before the first answer anyway.)
    const clientId = /ClientId=([^;]+)/i.exec(env['APPLICATIONINSIGHTS_AUTHENTICATION_STRING'] ?? '')?.[1];
    const aad = /Authorization=AAD/i.test(env['APPLICATIONINSIGHTS_AUTHENTICATION_STRING'] ?? '');
    useAzureMonitor({
      azureMonitorExporterOptions: {
        connectionString,
        ...(aad && { credential: createManagedIdentityCredential(clientId) }),
      },
    });
    stopDistribution = shutdownAzureMonitor;
    await registerAppInstrumentations();
    return true;
  } catch (error) {
    log.error(
      `Telemetry not started, the app runs without it: check APPLICATIONINSIGHTS_CONNECTION_STRING ` +
        `(and APPLICATIONINSIGHTS_AUTHENTICATION_STRING): ${error instanceof Error ? error.message : String(error)}`,
    );
    return false;
  }
}

let stopDistribution: (() => Promise<void>) | undefined;

/**
 * The host gives a stopping worker only a few seconds (its terminate message carries the grace
 * period) before it kills it: what is not sent by then is given up, so the worker still exits of
 * its own accord.
 */
const STOP_GRACE_MS = 4_000;

/**
 * Sends what telemetry is still batched and stops the distribution: the spans of the last
 * invocations would otherwise be lost when an instance is shut down (scale-in, a deployment), as
 * the exporters send on a timer. Nothing to do when telemetry was not started.
 */
export async function stopTelemetry(log: Pick<Console, 'warn'> = console): Promise<void> {
  const stop = stopDistribution;
  stopDistribution = undefined;
  if (stop) await settleWithin(stop, STOP_GRACE_MS, (reason) => log.warn(`Telemetry not all sent before the worker stops: ${reason}`));
}

/** Runs `work` for at most `ms`; a failure or an overrun is reported to `onUnsettled`, never thrown. */
export async function settleWithin(work: () => Promise<unknown>, ms: number, onUnsettled: (reason: string) => void): Promise<void> {
  try {
    await untilAborted(Promise.resolve().then(work), AbortSignal.timeout(ms), () => new Error(`not done within ${ms} ms`));
  } catch (error) {
    onUnsettled(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The instrumentation the distribution does not register, on the global OpenTelemetry providers:
 * Azure Functions'. It carries the host's trace context into each invocation (so a Graph request is
 * a child of the notification that caused it) and sends `context.log` lines from the worker. It
 * also tells the host the worker exports its own logs (`WorkerOpenTelemetryEnabled`), so the host
 * stops forwarding them: without this hook they would not reach Application Insights at all. Every
 * request the app sends goes through node:http(s), which the distribution's HTTP instrumentation
 * sees (none uses `fetch`).
 */
export async function registerAppInstrumentations(): Promise<void> {
  const [{ registerInstrumentations }, functionsInstrumentation] = await Promise.all([
    import('@opentelemetry/instrumentation'),
    import('@azure/functions-opentelemetry-instrumentation'),
  ]);
  // A bundled CommonJS module: Node finds no named exports in it, only the default.
  const { AzureFunctionsInstrumentation } = functionsInstrumentation.default;
  registerInstrumentations({ instrumentations: [new AzureFunctionsInstrumentation()] });
  // The instrumentation patches `@azure/functions` when it is required. The composition root
  // imported it before telemetry started, so require it once more: the instrumentation's hook sees
  // that require and patches the one shared module instance (its `app`).
  // Graph requests and the signing keys go out through node:https (`exchange` in
  // shared/graph/nodeHttpRequestHandler.ts), loaded with the bundle before telemetry started:
  // requiring the built-ins again lets the distribution's HTTP instrumentation patch the module
  // objects it calls.
  // Table, Queue and token requests go through node:http(s) too, inside the Azure SDK's own "HTTP"
  // span: this Azure SDK setting keeps the HTTP instrumentation from recording each a second time.
  process.env['AZURE_HTTP_TRACING_CHILDREN_DISABLED'] ??= 'true';
  const require = createRequire(import.meta.url);
  require('@azure/functions');
  require('node:http');
  require('node:https');
}
