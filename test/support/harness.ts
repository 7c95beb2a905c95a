import { randomUUID } from 'node:crypto';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { inject } from 'vitest';
import {
  createGetCallHandler,
  createListHistoryHandler,
  createHangUpCallHandler,
  createListCallsHandler,
} from '../../functions/callControl.js';
import { createCallHistoryRetentionHandler } from '../../functions/callHistoryRetention.js';
import { createHealthHandler } from '../../functions/health.js';
import { createJoinMeetingHandler } from '../../functions/joinMeeting.js';
import { createPlaceCallHandler } from '../../functions/placeCall.js';
import { createKeepAliveSweepHandler } from '../../functions/keepAliveSweep.js';
import { createMeetingRejoinHandler } from '../../functions/meetingRejoin.js';
import { createNotificationsHandler } from '../../functions/notifications.js';
import { QueueClient } from '@azure/storage-queue';
import { StorageRejoinQueue, type RejoinMessage, type RejoinQueue } from '../../shared/meetings/rejoinQueue.js';
import { NO_TOKEN_CREDENTIAL } from '../../shared/storage/storageClients.js';
import { loadConfig } from '../../shared/config.js';
import type { SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import { createRuntime, type Runtime } from '../../functions/app/runtime.js';
import { timer } from '../../tools/timer.js';
import {
  GraphSimulator,
  incomingCallNotification,
  SIM_BOT_APP_ID,
  SIM_TENANT_ID,
  stateNotification,
  type SimCall,
} from '../../tools/graphSimulator.js';

export interface LogEntry {
  level: string;
  message: string;
}

export const BOT_CALLBACK_URL = 'https://bot.example.test/api/calls';

/** App settings that point the app at this run's Azurite and the given simulator, in a table of its own. */
export function testSettings(sim: GraphSimulator, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AzureWebJobsStorage: inject('storageConnectionString'),
    CALLS_TABLE_NAME: `calls${randomUUID().replace(/-/g, '').slice(0, 20)}`,
    BOT_APP_ID: SIM_BOT_APP_ID,
    BOT_TENANT_ID: SIM_TENANT_ID,
    BOT_APP_SECRET: 'simulator-secret',
    AZURE_AUTHORITY_HOST: sim.authorityHost,
    BOT_CALLBACK_URL,
    GRAPH_BASE_URL: sim.graphBaseUrl,
    NOTIFICATION_OPENID_CONFIG_URL: sim.openIdConfigUrl,
    ...overrides,
  };
}

export class TestClock {
  constructor(private time = Date.now()) {}
  readonly now = (): Date => new Date(this.time);
  advanceMinutes(minutes: number): void {
    this.time += minutes * 60_000;
  }
}

/** An InvocationContext whose log lines are kept for assertions. */
export function testContext(functionName: string, logs: LogEntry[], triggerMetadata?: Record<string, unknown>): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => logs.push({ level, message: args.map(String).join(' ') }),
    ...(triggerMetadata && { triggerMetadata }),
  });
}

export function notificationRequest(body: unknown, authorization: string | undefined): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'https://bot.example.test/api/calls',
    headers: authorization === undefined ? {} : { authorization },
    body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
  });
}

/** A request to one of the control routes (`/api/calls...`), as the Functions host would pass it. */
export function controlRequest(
  method: string,
  path: string,
  options: { body?: unknown; params?: Record<string, string> } = {},
): HttpRequest {
  const { body, params } = options;
  return new HttpRequest({
    method,
    url: `https://bot.example.test${path}`,
    ...(params ? { params } : {}),
    ...(body === undefined ? {} : { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } }),
  });
}

export { timer } from '../../tools/timer.js';

export interface Harness {
  sim: GraphSimulator;
  runtime: Runtime;
  clock: TestClock;
  logs: LogEntry[];
  /** Posts a body to the notifications function as Graph would (signed), or with the given Authorization. */
  post(body: unknown, authorization?: string): Promise<HttpResponseInit>;
  sweep(): Promise<SweepSummary>;
  /** Runs the call-history retention timer once; how many records it removed. */
  pruneHistory(): Promise<number>;
  /** A call that rang the bot, was answered and is now established, all through the notifications function. */
  establishedCall(): Promise<SimCall>;
  /** `POST /api/calls/join` with this body (a string is sent as is). */
  join(body: unknown): Promise<HttpResponseInit>;
  /** `POST /api/calls/outgoing` with this body (a string is sent as is). */
  placeCall(body: unknown): Promise<HttpResponseInit>;
  /** `GET /api/calls` with this query string (without `?`). */
  list(query?: string): Promise<HttpResponseInit>;
  getCall(id: string): Promise<HttpResponseInit>;
  /** `GET /api/calls/history` with this query string (without `?`). */
  history(query?: string): Promise<HttpResponseInit>;
  hangUp(id: string): Promise<HttpResponseInit>;
  /** `GET /api/health`. */
  health(): Promise<HttpResponseInit>;
  /** Runs the rejoin queue trigger on every message waiting (the harness does so after each post and join). */
  drainRejoins(): Promise<void>;
  /** Every wait the rejoin backoff asked for (a queue message's visibility delay), in ms; the harness does not wait it out. */
  sleeps: number[];
  stop(): Promise<void>;
}

/** The app's real parts (Table store on Azurite, Graph client against the simulator) with a movable clock. */
export async function startHarness(
  overrides: Record<string, string> = {},
  parts: Partial<Omit<Runtime, 'config' | 'clock'>> = {},
): Promise<Harness> {
  const sim = await new GraphSimulator(inject('simulatorTls')).start();
  const clock = new TestClock();
  const sleeps: number[] = [];
  const connection = inject('storageConnectionString');
  const rejoinQueueName = `rejoins${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const realRejoinQueue = new StorageRejoinQueue(
    { kind: 'connectionString', connectionString: connection },
    NO_TOKEN_CREDENTIAL,
    rejoinQueueName,
  );
  // The backoff a rejoin asks for is recorded, and its message made visible at once: tests do not
  // wait it out. Everything else about the queue is Azurite's.
  // A join's settle message is due minutes later: it is held until the test's clock reaches it.
  const heldSettles: Array<{ message: RejoinMessage; dueAt: number }> = [];
  const rejoinQueue: RejoinQueue = {
    schedule: (message, delaySeconds) => {
      if (message.kind === 'settleJoin') {
        heldSettles.push({ message, dueAt: clock.now().getTime() + delaySeconds * 1000 });
        return Promise.resolve();
      }
      sleeps.push(delaySeconds * 1000);
      return realRejoinQueue.schedule(message, 0);
    },
  };
  const runtime = createRuntime(loadConfig(testSettings(sim, overrides)), {
    rejoinQueue,
    ...parts,
    clock: clock.now,
  });
  const logs: LogEntry[] = [];
  const rejoinHandler = createMeetingRejoinHandler(() => runtime);
  const rejoinClient = new QueueClient(connection, rejoinQueueName);
  /** Runs the queue trigger on every rejoin message there is, including those it schedules itself. */
  const drainRejoins = async (): Promise<void> => {
    for (const held of heldSettles.filter((h) => h.dueAt <= clock.now().getTime())) {
      heldSettles.splice(heldSettles.indexOf(held), 1);
      await realRejoinQueue.schedule(held.message, 0);
    }
    if (!(await rejoinClient.exists())) return;
    for (;;) {
      const { receivedMessageItems } = await rejoinClient.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) return;
      for (const item of receivedMessageItems) {
        await rejoinHandler(JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')), testContext('meetingRejoin', logs));
        await rejoinClient.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  };
  const joinHandler = createJoinMeetingHandler(() => runtime);
  const placeCallHandler = createPlaceCallHandler(() => runtime);
  const listHandler = createListCallsHandler(() => runtime);
  const getHandler = createGetCallHandler(() => runtime);
  const historyHandler = createListHistoryHandler(() => runtime);
  const hangUpHandler = createHangUpCallHandler(() => runtime);
  const healthHandler = createHealthHandler(() => runtime);
  const notifications = createNotificationsHandler(() => runtime);
  const sweepHandler = createKeepAliveSweepHandler(() => runtime);
  const retentionHandler = createCallHistoryRetentionHandler(() => runtime);
  const post = async (body: unknown, authorization?: string) => {
    const response = await notifications(
      notificationRequest(body, authorization ?? `Bearer ${await sim.notificationToken()}`),
      testContext('notifications', logs),
    );
    await drainRejoins();
    return response;
  };
  sim.onNotification = async (body, authorization) => {
    await post(body, authorization);
  };
  return {
    sim,
    runtime,
    clock,
    logs,
    post,
    sweep: async () => {
      const result = await sweepHandler(timer, testContext('keepAliveSweep', logs));
      if (result.mode !== 'inline') throw new Error(`expected the timer to sweep in-process, it ${result.mode}`);
      return result.summary;
    },
    pruneHistory: () => retentionHandler(timer, testContext('callHistoryRetention', logs)),
    establishedCall: async () => {
      const call = sim.placeIncomingCall();
      for (const body of [incomingCallNotification(call.id), stateNotification(call.id, 'established')]) {
        const response = await post(body);
        if (response.status !== 202) throw new Error(`notification for call ${call.id} answered ${response.status}`);
      }
      return call;
    },
    join: async (body) => {
      const response = await joinHandler(controlRequest('POST', '/api/calls/join', { body }), testContext('joinMeeting', logs));
      await drainRejoins();
      return response;
    },
    placeCall: async (body) => {
      const response = await placeCallHandler(controlRequest('POST', '/api/calls/outgoing', { body }), testContext('placeCall', logs));
      await drainRejoins();
      return response;
    },
    drainRejoins,
    list: (query = '') => listHandler(controlRequest('GET', `/api/calls${query ? `?${query}` : ''}`), testContext('listCalls', logs)),
    history: (query = '') =>
      historyHandler(controlRequest('GET', `/api/calls/history${query ? `?${query}` : ''}`), testContext('listCallHistory', logs)),
    getCall: (id) =>
      getHandler(controlRequest('GET', `/api/calls/${encodeURIComponent(id)}`, { params: { id } }), testContext('getCall', logs)),
    hangUp: (id) =>
      hangUpHandler(controlRequest('DELETE', `/api/calls/${encodeURIComponent(id)}`, { params: { id } }), testContext('hangUpCall', logs)),
    health: () => healthHandler(controlRequest('GET', '/api/health'), testContext('health', logs)),
    sleeps,
    stop: () => sim.stop(),
  };
}
