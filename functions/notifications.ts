import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleNotificationBatch } from '../shared/notifications/handleNotifications.js';
import { readBodyWithin } from '../shared/notifications/notificationBody.js';
import { parseNotificationBody } from '../shared/notifications/notificationSchema.js';
import { appRuntime, notificationDeps, type Runtime } from './app/runtime.js';

/** Graph's call notifications (`commsNotifications`) for the bot's callback URL. */
export function createNotificationsHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    // Graph's answer deadline counts from here, before authentication and parsing take their share.
    const arrivedAt = Date.now();
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
    const text = await readBodyWithin(request);
    if (!text.ok) {
      context.warn(`Notification refused (413): ${text.reason}`);
      return { status: 413, jsonBody: { error: text.reason } };
    }
    const body = parseNotificationBody(text.text);
    if (!body.ok) {
      context.warn(`Notification refused (400): ${body.reason}`);
      return { status: 400, jsonBody: { error: body.reason } };
    }
    const result = await handleNotificationBatch(body.batch, auth.tenantId, notificationDeps(rt, context, arrivedAt));
    if (result.redeliver) {
      // A 5xx is what makes Graph deliver the batch again; the entries that succeeded are idempotent.
      context.warn('Notification answered 503: some entries failed and are left for the redelivery');
      return { status: 503, jsonBody: { error: 'some notifications could not be handled now; deliver again' } };
    }
    // Graph waits for the answer to a participantJoiningNotification in the response body.
    if (result.joinResponse) return { status: 200, jsonBody: result.joinResponse };
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
