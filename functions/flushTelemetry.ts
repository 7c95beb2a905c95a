import { app } from '@azure/functions';
import { stopTelemetry } from './app/telemetry.js';

export { stopTelemetry };

/**
 * The appTerminate hook: before the worker exits (scale-in, a restart, a deployment), the telemetry
 * still batched is sent, when Application Insights is configured
 * (https://learn.microsoft.com/en-us/azure/azure-functions/functions-reference-node#hooks).
 */
app.hook.appTerminate(() => stopTelemetry());
