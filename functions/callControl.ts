import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { listCalls, parseListQuery, showCall } from '../shared/calls/callControl.js';
import { isCallId } from '../shared/calls/callId.js';
import { hangUpCall } from '../shared/calls/hangUp.js';
import { statusForCaller } from '../shared/graph/graphCalls.js';
import { listHistory, parseHistoryQuery } from '../shared/history/historyQuery.js';
import { appRuntime, type Runtime } from './app/runtime.js';

// Inspection and hang-up of tracked calls. `POST /api/calls` belongs to the notifications function;
// these routes differ from it by method.

/** `GET /api/calls?pageSize=&continuationToken=` */
export function createListCallsHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { store, clock } = runtime();
    const query = parseListQuery(request.query);
    if (!query.ok) return error(context, 400, 'BadRequest', query.reason);
    const result = await listCalls(store, query.query, clock());
    if (!result.ok) return error(context, 400, 'BadRequest', result.reason);
    for (const row of result.list.unreadable)
      context.warn(`Listing: the row of call ${row.id} cannot be read (${row.problem}); listed apart`);
    return { status: 200, jsonBody: result.list };
  };
}

/** `GET /api/calls/history?since=&pageSize=&continuationToken=`: ended calls, newest first. */
export function createListHistoryHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { history } = runtime();
    const query = parseHistoryQuery(request.query);
    if (!query.ok) return error(context, 400, 'BadRequest', query.reason);
    const result = await listHistory(history, query.query);
    if (!result.ok) return error(context, 400, 'BadRequest', result.reason);
    return { status: 200, jsonBody: result.list };
  };
}

/** `GET /api/calls/{id}`: a live call, or an ended one from the history. */
export function createGetCallHandler(runtime: () => Runtime) {
  const historyHandler = createListHistoryHandler(runtime);
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { store, history, clock } = runtime();
    const callId = request.params['id'] ?? '';
    // The host routes the literal `calls/history` before `calls/{id}`; should a request reach here
    // all the same, it still gets the history, never a lookup of a call named "history".
    if (callId === 'history') return historyHandler(request, context);
    if (!isCallId(callId)) return error(context, 400, 'BadRequest', 'not a call id');
    const shown = await showCall(store, history, callId, clock());
    switch (shown.kind) {
      case 'found':
      case 'ended':
        return { status: 200, jsonBody: shown.view };
      case 'unknownCall':
        return error(context, 404, 'NotFound', `call ${callId} is not tracked`);
      case 'unreadable':
        // The row is there but cannot be read: a conflict with the stored state that retrying will
        // not resolve (a 5xx would invite retries), only fixing or removing the row will.
        return error(context, 409, 'UnreadableCall', `the row of call ${callId} cannot be read: ${shown.problem}`);
    }
  };
}

/** `DELETE /api/calls/{id}`: hang up. */
export function createHangUpCallHandler(runtime: () => Runtime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { store, graph, clock, history } = runtime();
    const callId = request.params['id'] ?? '';
    if (!isCallId(callId)) return error(context, 400, 'BadRequest', 'not a call id');
    const outcome = await hangUpCall(callId, 'asked for through DELETE /api/calls/{id}', { store, graph, clock, history, log: context });
    switch (outcome.kind) {
      case 'hangingUp':
        return { status: 202, jsonBody: { callId, state: 'terminating' } };
      case 'ended':
        return { status: 200, jsonBody: { callId, state: 'terminated' } };
      case 'unknownCall':
        return error(context, 404, 'NotFound', `call ${callId} is not tracked`);
      case 'failed':
        return {
          status: statusForCaller(outcome.status),
          jsonBody: { error: { code: outcome.code ?? 'GraphUnavailable', message: outcome.message } },
        };
    }
  };
}

function error(context: InvocationContext, status: number, code: string, message: string): HttpResponseInit {
  context.info(`${status}: ${message}`);
  return { status, jsonBody: { error: { code, message } } };
}

export const listCallsHandler = createListCallsHandler(appRuntime);
export const getCallHandler = createGetCallHandler(appRuntime);
export const listHistoryHandler = createListHistoryHandler(appRuntime);
export const hangUpCallHandler = createHangUpCallHandler(appRuntime);

app.http('listCalls', { route: 'calls', methods: ['GET'], authLevel: 'function', handler: listCallsHandler });
app.http('listCallHistory', { route: 'calls/history', methods: ['GET'], authLevel: 'function', handler: listHistoryHandler });
app.http('getCall', { route: 'calls/{id}', methods: ['GET'], authLevel: 'function', handler: getCallHandler });
app.http('hangUpCall', { route: 'calls/{id}', methods: ['DELETE'], authLevel: 'function', handler: hangUpCallHandler });
