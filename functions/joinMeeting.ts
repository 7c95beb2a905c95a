import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { joinMeeting } from '../shared/meetings/joinMeeting.js';
import { parseJoinRequest } from '../shared/meetings/joinRequest.js';
import { appRuntime, type Runtime } from '../shared/runtime.js';

/** `POST /api/calls/join`: join a Teams meeting by link or by join meeting id. */
export function createJoinMeetingHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { store, graph, clock, config } = runtime();
    const text = await request.text();
    if (text.trim() === '') return badRequest(context, 'body is empty; expected {"joinUrl": "..."} or {"joinMeetingId": "..."}');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return badRequest(context, 'body is not valid JSON');
    }
    const parsed = parseJoinRequest(body, config.bot.tenantId);
    if (!parsed.ok) return badRequest(context, parsed.reason);
    const joined = await joinMeeting(parsed.joinInfo, { store, graph, clock, log: context, callbackUrl: config.bot.callbackUrl });
    if (!joined.ok) return { status: joined.status, jsonBody: { error: { code: joined.code, message: joined.message } } };
    return {
      status: 201,
      headers: { location: `/api/calls/${encodeURIComponent(joined.callId)}` },
      jsonBody: { callId: joined.callId, state: joined.state },
    };
  };
}

function badRequest(context: InvocationContext, reason: string): HttpResponseInit {
  context.warn(`Join refused (400): ${reason}`);
  return { status: 400, jsonBody: { error: { code: 'BadRequest', message: reason } } };
}

export const joinMeetingHandler = createJoinMeetingHandler(appRuntime);

app.http('joinMeeting', {
  route: 'calls/join',
  methods: ['POST'],
  authLevel: 'function',
  handler: joinMeetingHandler,
});
