import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleNotificationBatch } from '../shared/notifications/handleNotifications.js';
import { parseNotificationBody } from '../shared/notifications/notificationSchema.js';
import { appRuntime, type Runtime } from '../shared/runtime.js';

/** Graph's call notifications (`commsNotifications`) for the bot's callback URL. */
export function createNotificationsHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { authenticator, store, graph, clock, config } = runtime();
    const auth = await authenticator.authenticate(request.headers.get('authorization'));
    if (!auth.ok) {
      context.warn(`Notification refused (401): ${auth.reason}`);
      return { status: 401, jsonBody: { error: 'unauthorized' } };
    }
    const body = parseNotificationBody(await request.text());
    if (!body.ok) {
      context.warn(`Notification refused (400): ${body.reason}`);
      return { status: 400, jsonBody: { error: body.reason } };
    }
    const result = await handleNotificationBatch(body.batch, auth.tenantId, {
      store,
      graph,
      clock,
      callbackUrl: config.bot.callbackUrl,
      log: context,
    });
    if (!result.ok) {
      context.warn(`Notification refused (400): ${result.reason}`);
      return { status: 400, jsonBody: { error: result.reason } };
    }
    return { status: 202 };
  };
}

export const notifications = createNotificationsHandler(appRuntime);

app.http('notifications', {
  route: 'calls',
  methods: ['POST'],
  // Graph sends no function key; the notification's JWT is the guard.
  authLevel: 'anonymous',
  handler: notifications,
});
