import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { checkHealth } from '../shared/health/checkHealth.js';
import { appRuntime, type Runtime } from './app/runtime.js';

/** `GET /api/health`: 200 while calls are being kept alive, 503 with the problems otherwise. */
export function createHealthHandler(runtime: () => Runtime) {
  return async (_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const report = await checkHealth(runtime());
    if (report.status === 'unhealthy') context.warn(`Health: unhealthy: ${report.problems.join('; ')}`);
    return { status: report.status === 'healthy' ? 200 : 503, headers: { 'cache-control': 'no-store' }, jsonBody: report };
  };
}

export const healthHandler = createHealthHandler(appRuntime);

app.http('health', { route: 'health', methods: ['GET'], authLevel: 'function', handler: healthHandler });
