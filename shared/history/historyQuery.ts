import { DEFAULT_LIST_PAGE_SIZE, parseListQuery } from '../calls/callControl.js';
import type { CallHistory, CallHistoryRecord } from './callHistory.js';

export interface HistoryQuery {
  since: Date | undefined;
  pageSize: number;
  continuationToken: string | undefined;
}

export type HistoryQueryResult = { ok: true; query: HistoryQuery } | { ok: false; reason: string };

/** `GET /api/calls/history?since=&pageSize=&continuationToken=`. Pure. */
export function parseHistoryQuery(params: URLSearchParams): HistoryQueryResult {
  const list = parseListQuery(params);
  if (!list.ok) return list;
  const rawSince = params.get('since');
  let since: Date | undefined;
  if (rawSince !== null && rawSince !== '') {
    // An ISO 8601 date or date-time; Date.parse alone would take "1" or "May 5" too.
    since = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(rawSince) ? new Date(rawSince) : undefined;
    if (since === undefined || Number.isNaN(since.getTime())) {
      return { ok: false, reason: `since must be an ISO 8601 date or date-time (e.g. 2026-11-24T08:00:00Z), got "${rawSince}"` };
    }
  }
  return {
    ok: true,
    query: { since, pageSize: list.query.pageSize ?? DEFAULT_LIST_PAGE_SIZE, continuationToken: list.query.continuationToken },
  };
}

/** An ended call as `GET /api/calls/{id}` shows it. */
export type EndedCallView = CallHistoryRecord & { state: 'terminated' };

export interface HistoryList {
  calls: EndedCallView[];
  continuationToken?: string;
}

export type ListHistoryResult = { ok: true; list: HistoryList } | { ok: false; reason: string };

/** One page of ended calls, newest first. */
export async function listHistory(history: CallHistory, query: HistoryQuery): Promise<ListHistoryResult> {
  const page = await history.listPage({ since: query.since, pageSize: query.pageSize, continuationToken: query.continuationToken });
  if (page === 'invalidToken') return { ok: false, reason: 'continuationToken is not one this listing handed out' };
  return {
    ok: true,
    list: {
      calls: page.calls.map(endedView),
      ...(page.continuationToken === undefined ? {} : { continuationToken: page.continuationToken }),
    },
  };
}

export function endedView(record: CallHistoryRecord): EndedCallView {
  return { ...record, state: 'terminated' };
}
