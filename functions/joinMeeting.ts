import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { joinMeeting } from '../shared/meetings/joinMeeting.js';
import { parseJoinRequest } from '../shared/meetings/joinRequest.js';
import { appRuntime, joinDepsOf, type Runtime } from './app/runtime.js';

/** `POST /api/calls/join`: join a Teams meeting by link or by join meeting id. */
export function createJoinMeetingHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const rt = runtime();
    const text = await request.text();
    if (text.trim() === '') return badRequest(context, 'body is empty; expected {"joinUrl": "..."} or {"joinMeetingId": "..."}');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return badRequest(context, 'body is not valid JSON');
    }
    const parsed = parseJoinRequest(body, rt.config.bot.tenantId);
    if (!parsed.ok) return badRequest(context, parsed.reason);
    const joined = await joinMeeting(parsed.joinInfo, joinDepsOf(rt, context));
    switch (joined.kind) {
      case 'joined':
        return {
          status: 201,
          headers: { location: `/api/calls/${encodeURIComponent(joined.callId)}` },
          jsonBody: { callId: joined.callId, state: joined.state },
        };
      case 'pending':
        // Graph may have made the call; if so, its first notification adopts it and it appears in
        // GET /api/calls with this joinId. Asking again could put the bot in the meeting twice.
        return {
          status: 202,
          jsonBody: {
            joinId: joined.joinId,
            state: 'pending',
            message: `Graph's answer to the join was ${joined.status === undefined ? 'lost' : `${joined.status}`}; whether the bot joined is not known yet. If it did, the call is tracked as soon as Graph reports it. Do not retry at once.`,
          },
        };
      case 'failed':
        return { status: joined.status, jsonBody: { error: { code: joined.code, message: joined.message } } };
      case 'duplicate':
        // Only a rejoin (whose join id is derived) can be a duplicate; a caller's join never is.
        return { status: 409, jsonBody: { error: { code: 'Conflict', message: `join ${joined.joinId} was already made` } } };
    }
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
