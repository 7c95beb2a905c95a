import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { placeCall } from '../shared/meetings/joinMeeting.js';
import { parseOutgoingCallRequest } from '../shared/outgoing/outgoingRequest.js';
import { badRequest, createCallResponse, readJsonBody } from './app/createCallResponse.js';
import { appRuntime, joinDepsOf, type Runtime } from './app/runtime.js';

/** `POST /api/calls/outgoing`: call one Teams user, a group of up to five, or a phone number. */
export function createPlaceCallHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const rt = runtime();
    const read = await readJsonBody(request, context, 'Outgoing call', '{"targets": [{"userId": "..."} or {"phone": "+..."}], ...}');
    if (!read.ok) return read.response;
    const { bot, outgoingCalls } = rt.config;
    const parsed = parseOutgoingCallRequest(read.body, { botAppId: bot.appId, botTenantId: bot.tenantId, pstn: outgoingCalls.pstn });
    if (!parsed.ok) return badRequest(context, 'Outgoing call', parsed.reason);
    return createCallResponse(await placeCall(parsed.call, joinDepsOf(rt, context)), 'create');
  };
}

export const placeCallHandler = createPlaceCallHandler(appRuntime);

app.http('placeCall', {
  route: 'calls/outgoing',
  methods: ['POST'],
  authLevel: 'function',
  handler: placeCallHandler,
});
