import { app } from '@azure/functions';

/**
 * Registers Azure Monitor's OpenTelemetry distribution when the app has an Application Insights
 * connection string: the app's metrics and custom events (shared/telemetry.ts), its logs, and
 * Graph and Table requests as dependencies with their status codes (the distribution's HTTP and
 * Azure SDK instrumentations). The host sends its own telemetry through OpenTelemetry too
 * (host.json `telemetryMode`). Loaded only when configured: it is the heaviest module of the app,
 * and a cold start must stay inside Graph's answer window.
 * https://learn.microsoft.com/en-us/azure/azure-functions/opentelemetry-howto
 */
export async function startTelemetry(env: Readonly<Record<string, string | undefined>> = process.env): Promise<boolean> {
  const connectionString = env['APPLICATIONINSIGHTS_CONNECTION_STRING'];
  if (!connectionString) return false;
  const [{ useAzureMonitor }, { ManagedIdentityCredential }] = await Promise.all([
    import('@azure/monitor-opentelemetry'),
    import('@azure/identity'),
  ]);
  // With local authentication off (infra/), telemetry is sent with the app's identity.
  const clientId = /ClientId=([^;]+)/i.exec(env['APPLICATIONINSIGHTS_AUTHENTICATION_STRING'] ?? '')?.[1];
  const aad = /Authorization=AAD/i.test(env['APPLICATIONINSIGHTS_AUTHENTICATION_STRING'] ?? '');
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString,
      ...(aad && { credential: clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential() }),
    },
  });
  app.setup({ capabilities: { WorkerOpenTelemetryEnabled: true } });
  return true;
}
