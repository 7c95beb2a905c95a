import { UnreadableCallError, type CallStore } from './callStore.js';
import { callView, type CallView } from './callView.js';
import type { CallHistory } from '../history/callHistory.js';
import { endedView, type EndedCallView } from '../history/historyQuery.js';

export const DEFAULT_LIST_PAGE_SIZE = 100;
export const MAX_LIST_PAGE_SIZE = 1000;

export interface ListQuery {
  pageSize: number;
  continuationToken: string | undefined;
}

export type ListQueryResult = { ok: true; query: ListQuery } | { ok: false; reason: string };

/** `GET /api/calls?pageSize=&continuationToken=`. Pure. */
export function parseListQuery(params: URLSearchParams): ListQueryResult {
  const rawSize = params.get('pageSize');
  let pageSize = DEFAULT_LIST_PAGE_SIZE;
  if (rawSize !== null) {
    pageSize = Number(rawSize);
    if (!/^\d+$/.test(rawSize) || pageSize < 1 || pageSize > MAX_LIST_PAGE_SIZE) {
      return { ok: false, reason: `pageSize must be a whole number from 1 to ${MAX_LIST_PAGE_SIZE}, got "${rawSize}"` };
    }
  }
  const token = params.get('continuationToken');
  return { ok: true, query: { pageSize, continuationToken: token === null || token === '' ? undefined : token } };
}

/** A row the listing could not show, so an operator can find and fix it. */
export interface UnreadableCallView {
  id: string;
  problem: string;
}

export interface CallList {
  calls: CallView[];
  /** Rows this version cannot read; they are not in `calls`. Their calls are still kept alive by id. */
  unreadable: UnreadableCallView[];
  /** Pass back as `continuationToken` for the next page; absent on the last page. */
  continuationToken?: string;
}

export type ListCallsResult = { ok: true; list: CallList } | { ok: false; reason: string };

/**
 * One page of the active calls. A page may hold fewer than `pageSize` calls even when more follow.
 * A row that cannot be read is listed apart, with its problem, instead of failing the page.
 */
export async function listCalls(store: CallStore, query: ListQuery, now: Date): Promise<ListCallsResult> {
  const page = await store.listPage(query.pageSize, query.continuationToken);
  if (page === 'invalidToken') return { ok: false, reason: 'continuationToken is not one this listing handed out' };
  return {
    ok: true,
    list: {
      calls: page.calls.map((call) => callView(call, now)),
      unreadable: page.unreadable.map(({ callId, problem }) => ({ id: callId, problem })),
      ...(page.continuationToken === undefined ? {} : { continuationToken: page.continuationToken }),
    },
  };
}

export type ShowCallResult =
  | { kind: 'found'; view: CallView }
  /** No row, but the call's record in the history of ended calls. */
  | { kind: 'ended'; view: EndedCallView }
  | { kind: 'unknownCall' }
  /** The row is there but this version cannot read it: the problem, for whoever fixes it. */
  | { kind: 'unreadable'; problem: string };

/** `GET /api/calls/{id}`: the live call, or else its record among the ended calls. */
export async function showCall(store: CallStore, history: CallHistory, callId: string, now: Date): Promise<ShowCallResult> {
  try {
    const call = await store.get(callId);
    if (call) return { kind: 'found', view: callView(call, now) };
    const ended = await history.get(callId);
    return ended ? { kind: 'ended', view: endedView(ended) } : { kind: 'unknownCall' };
  } catch (error) {
    if (error instanceof UnreadableCallError) return { kind: 'unreadable', problem: error.row.problem };
    throw error;
  }
}
