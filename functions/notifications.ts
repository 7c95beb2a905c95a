import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleNotificationBatch, notificationDeps } from '../shared/notifications/handleNotifications.js';
import { parseNotificationBody } from '../shared/notifications/notificationSchema.js';
import { appRuntime, type Runtime } from '../shared/runtime.js';

/** Graph's call notifications (`commsNotifications`) for the bot's callback URL. */
export function createNotificationsHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const rt = runtime();
    const auth = await rt.authenticator.authenticate(request.headers.get('authorization'));
    if (!auth.ok && auth.status === 503) {
      // Graph redelivers a 5xx; the keys may be back by then.
      context.error(`Notification not judged (503): ${auth.reason}`);
      return { status: 503, jsonBody: { error: 'signing keys unavailable' } };
    }
    if (!auth.ok) {
      context.warn(`Notification refused (401): ${auth.reason}`);
      return { status: 401, jsonBody: { error: 'unauthorized' } };
    }
    if (auth.keysWarning) context.warn(`Notification signing keys not reloaded, the last good ones are in use: ${auth.keysWarning}`);
    const body = parseNotificationBody(await request.text());
    if (!body.ok) {
      context.warn(`Notification refused (400): ${body.reason}`);
      return { status: 400, jsonBody: { error: body.reason } };
    }
    const result = await handleNotificationBatch(body.batch, auth.tenantId, notificationDeps(rt, context));
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
