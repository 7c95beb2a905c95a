import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { HttpResponseInit } from '@azure/functions';
import type { GraphSimulator } from '../../tools/graphSimulator.js';
import { timer } from '../../tools/timer.js';

/** The app as `npm run simulate` drives it: in this process, or a `func start` over HTTP. */
export interface AppUnderTest {
  /** Delivers a notification to `POST /api/calls` as Graph would. */
  notify(body: Record<string, unknown>, authorization: string): Promise<void>;
  /** `POST /api/calls/join`. */
  join(joinUrl: string): Promise<{ status: number; callId: string | undefined }>;
  /** `POST /api/calls/outgoing`. */
  placeCall(body: Record<string, unknown>): Promise<{ status: number; callId: string | undefined }>;
  /** `GET /api/calls/{id}`: the live call, or its record once it has ended. */
  getCall(callId: string): Promise<{ status: number; body: Record<string, unknown> | undefined }>;
  /** `DELETE /api/calls/{id}`. */
  hangUp(callId: string): Promise<number>;
  /** Runs the keepAlive timer once and returns its summary line (or what is known of it). */
  sweep(): Promise<string>;
  /** Every call id `GET /api/calls` lists, all pages. */
  trackedCallIds(): Promise<string[]>;
  health(): Promise<{ status: number; summary: string }>;
  close(): Promise<void>;
}

// A CommonJS package whose classes Node's ESM loader cannot name as imports; required instead.
const { HttpRequest, InvocationContext } = createRequire(import.meta.url)('@azure/functions') as typeof import('@azure/functions');

/** Every call id `GET /api/calls` lists, following continuation tokens to the last page. */
async function allListedCallIds(
  listPage: (query: string) => Promise<{ calls: { id: string }[]; continuationToken?: string }>,
): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await listPage(new URLSearchParams({ pageSize: '1000', ...(token && { continuationToken: token }) }).toString());
    ids.push(...page.calls.map((c) => c.id));
    token = page.continuationToken;
  } while (token);
  return ids;
}

/** The app's exported handlers in this process, configured through `process.env` as in Azure. */
export async function inProcessApp(settings: Record<string, string>): Promise<AppUnderTest> {
  Object.assign(process.env, settings);
  // Loaded after the settings are in place; the app reads them on first use.
  const { notifications } = await import('../../functions/notifications.js');
  const { joinMeetingHandler } = await import('../../functions/joinMeeting.js');
  const { placeCallHandler } = await import('../../functions/placeCall.js');
  const { getCallHandler, hangUpCallHandler, listCallsHandler } = await import('../../functions/callControl.js');
  const { keepAliveSweep } = await import('../../functions/keepAliveSweep.js');
  const { formatSweepSummary } = await import('../../shared/keepAlive/sweepKeepAlive.js');
  const { healthHandler } = await import('../../functions/health.js');
  const problems: string[] = [];
  const context = (functionName: string) =>
    new InvocationContext({
      functionName,
      invocationId: randomUUID(),
      logHandler: (level, ...parts) => {
        if (level === 'error') problems.push(parts.map(String).join(' '));
      },
    });
  const request = (method: string, path: string, body?: unknown, params?: Record<string, string>) =>
    new HttpRequest({
      method,
      url: `https://localhost:7071${path}`,
      ...(params && { params }),
      ...(body !== undefined && { body: { string: JSON.stringify(body) } }),
    });
  const expectStatus = (response: HttpResponseInit, what: string) => {
    if ((response.status ?? 200) >= 400 && response.status !== 503)
      throw new Error(`${what} answered ${response.status}: ${JSON.stringify(response.jsonBody)}`);
    return response;
  };
  return {
    async notify(body, authorization) {
      const req = new HttpRequest({
        method: 'POST',
        url: 'https://localhost:7071/api/calls',
        headers: { authorization },
        body: { string: JSON.stringify(body) },
      });
      expectStatus(await notifications(req, context('notifications')), 'POST /api/calls');
    },
    async join(joinUrl) {
      const response = await joinMeetingHandler(request('POST', '/api/calls/join', { joinUrl }), context('joinMeeting'));
      return { status: response.status ?? 200, callId: (response.jsonBody as { callId?: string } | undefined)?.callId };
    },
    async placeCall(body) {
      const response = await placeCallHandler(request('POST', '/api/calls/outgoing', body), context('placeCall'));
      return { status: response.status ?? 200, callId: (response.jsonBody as { callId?: string } | undefined)?.callId };
    },
    async getCall(callId) {
      const response = await getCallHandler(request('GET', `/api/calls/${callId}`, undefined, { id: callId }), context('getCall'));
      return { status: response.status ?? 200, body: response.jsonBody as Record<string, unknown> | undefined };
    },
    async hangUp(callId) {
      const response = await hangUpCallHandler(request('DELETE', `/api/calls/${callId}`, undefined, { id: callId }), context('hangUpCall'));
      return response.status ?? 200;
    },
    async sweep() {
      const result = await keepAliveSweep(timer, context('keepAliveSweep'));
      return result.mode === 'inline' ? formatSweepSummary(result.summary) : `fanned out over ${result.shards} shards`;
    },
    trackedCallIds: () =>
      allListedCallIds(async (query) => {
        const response = await listCallsHandler(request('GET', `/api/calls?${query}`), context('listCalls'));
        return expectStatus(response, 'GET /api/calls').jsonBody as { calls: { id: string }[]; continuationToken?: string };
      }),
    async health() {
      const response = await healthHandler(request('GET', '/api/health'), context('health'));
      return { status: response.status ?? 200, summary: healthSummary(response.jsonBody) };
    },
    close() {
      if (problems.length > 0) console.error(`The app logged ${problems.length} error(s):\n${problems.join('\n')}`);
      return Promise.resolve();
    },
  };
}

/** A running `func start` at `target`, over HTTP; the timer is run through the host's admin API. */
export async function httpApp(target: string, sim: GraphSimulator): Promise<AppUnderTest> {
  const base = target.replace(/\/+$/, '');
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    const reached = await fetch(`${base}/api/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (reached === 200 || reached === 503) break;
    if (Date.now() > deadline) throw new Error(`the app at ${base} did not answer GET /api/health within 3 minutes`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const keepAliveCount = () => sim.requests.filter((r) => r.path.endsWith('/keepAlive')).length;
  return {
    async notify(body, authorization) {
      const { status, json } = await call('POST', '/api/calls', body, { authorization });
      if (status !== 202) throw new Error(`POST /api/calls answered ${status}: ${JSON.stringify(json)}`);
    },
    async join(joinUrl) {
      const { status, json } = await call('POST', '/api/calls/join', { joinUrl });
      return { status, callId: json?.['callId'] as string | undefined };
    },
    async placeCall(body) {
      const { status, json } = await call('POST', '/api/calls/outgoing', body);
      return { status, callId: json?.['callId'] as string | undefined };
    },
    async getCall(callId) {
      const { status, json } = await call('GET', `/api/calls/${encodeURIComponent(callId)}`);
      return { status, body: json };
    },
    async hangUp(callId) {
      return (await call('DELETE', `/api/calls/${encodeURIComponent(callId)}`)).status;
    },
    async sweep() {
      // The documented way to run a non-HTTP function locally; it answers 202 and runs in the background.
      const before = keepAliveCount();
      const { status } = await call('POST', '/admin/functions/keepAliveSweep', { input: '' });
      if (status !== 202) throw new Error(`POST /admin/functions/keepAliveSweep answered ${status}`);
      let last = -1;
      while (last !== keepAliveCount()) {
        last = keepAliveCount();
        await new Promise((r) => setTimeout(r, 2500)); // a throttled keepAlive waits out its Retry-After
      }
      return `${keepAliveCount() - before} keepAlive requests reached Graph (see the func console for the summary line)`;
    },
    trackedCallIds: () =>
      allListedCallIds(async (query) => {
        const { status, json } = await call('GET', `/api/calls?${query}`);
        if (status !== 200) throw new Error(`GET /api/calls answered ${status}`);
        return json as unknown as { calls: { id: string }[]; continuationToken?: string };
      }),
    async health() {
      const { status, json } = await call('GET', '/api/health');
      return { status, summary: healthSummary(json) };
    },
    async close() {},
  };
}

function healthSummary(body: unknown): string {
  const report = body as { status?: string; activeCalls?: number; problems?: string[] } | undefined;
  return `${report?.status ?? '?'}, ${report?.activeCalls ?? '?'} active calls${report?.problems?.length ? `: ${report.problems.join('; ')}` : ''}`;
}
