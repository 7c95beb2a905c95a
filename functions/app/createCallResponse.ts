import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { JoinOutcome } from '../../shared/meetings/joinMeeting.js';

/** A request body read as JSON, or the 400 to answer when it is empty or not JSON. */
export async function readJsonBody(
  request: HttpRequest,
  context: InvocationContext,
  what: string,
  expected: string,
): Promise<{ ok: true; body: unknown } | { ok: false; response: HttpResponseInit }> {
  const text = await request.text();
  if (text.trim() === '') return { ok: false, response: badRequest(context, what, `body is empty; expected ${expected}`) };
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch {
    return { ok: false, response: badRequest(context, what, 'body is not valid JSON') };
  }
}

export function badRequest(context: InvocationContext, what: string, reason: string): HttpResponseInit {
  context.warn(`${what} refused (400): ${reason}`);
  return { status: 400, jsonBody: { error: { code: 'BadRequest', message: reason } } };
}

/** The answer to a caller who asked for a call to be created (a meeting join, or a call the bot places). */
export function createCallResponse(outcome: JoinOutcome, what: string): HttpResponseInit {
  switch (outcome.kind) {
    case 'joined':
      return {
        status: 201,
        headers: { location: `/api/calls/${encodeURIComponent(outcome.callId)}` },
        jsonBody: { callId: outcome.callId, state: outcome.state },
      };
    case 'pending':
      // Graph may have made the call; if so, its first notification adopts it and it appears in
      // GET /api/calls with this joinId. Asking again could make a second call.
      return {
        status: 202,
        jsonBody: {
          joinId: outcome.joinId,
          state: 'pending',
          message: `Graph's answer to the ${what} was ${outcome.status === undefined ? 'lost' : `${outcome.status}`}; whether the call was made is not known yet. If it was, the call is tracked as soon as Graph reports it. Do not retry at once.`,
        },
      };
    case 'failed':
      return { status: outcome.status, jsonBody: { error: { code: outcome.code, message: outcome.message } } };
    case 'duplicate':
      // Only a rejoin (whose join id is derived) can be a duplicate; a caller's request never is.
      return { status: 409, jsonBody: { error: { code: 'Conflict', message: `join ${outcome.joinId} was already made` } } };
  }
}
