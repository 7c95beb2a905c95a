import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { joinMeeting } from '../shared/meetings/joinMeeting.js';
import { parseJoinRequest } from '../shared/meetings/joinRequest.js';
import { badRequest, createCallResponse, readJsonBody } from './app/createCallResponse.js';
import { appRuntime, joinDepsOf, type Runtime } from './app/runtime.js';

/** `POST /api/calls/join`: join a Teams meeting by link or by join meeting id. */
export function createJoinMeetingHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const rt = runtime();
    const read = await readJsonBody(request, context, 'Join', '{"joinUrl": "..."} or {"joinMeetingId": "..."}');
    if (!read.ok) return read.response;
    const parsed = parseJoinRequest(read.body, rt.config.bot.tenantId);
    if (!parsed.ok) return badRequest(context, 'Join', parsed.reason);
    return createCallResponse(await joinMeeting(parsed.joinInfo, joinDepsOf(rt, context)), 'join');
  };
}

export const joinMeetingHandler = createJoinMeetingHandler(appRuntime);

app.http('joinMeeting', {
  route: 'calls/join',
  methods: ['POST'],
  authLevel: 'function',
  handler: joinMeetingHandler,
});
