import { writeRawColumns } from '../support/callTable.js';
import { RestError, TableClient } from '@azure/data-tables';
import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationsHandler } from '../../functions/notifications.js';
import type { CallRecord, CallStore, DecideChange, StoredCall } from '../../shared/calls/callStore.js';
import { TableCallStore } from '../../shared/calls/tableCallStore.js';
import { MAX_NOTIFICATION_BODY_BYTES } from '../../shared/notifications/notificationBody.js';
import {
  incomingCallNotification,
  notificationBody,
  rosterNotification,
  SIM_TENANT_ID,
  stateNotification,
  terminatedNotification,
} from '../../tools/graphSimulator.js';
import { BOT_CALLBACK_URL, notificationRequest, startHarness, testContext, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

async function answeredCall(extra: Record<string, unknown> = {}) {
  const call = h.sim.placeIncomingCall();
  const response = await h.post(incomingCallNotification(call.id, extra));
  expect(response.status).toBe(202);
  return call;
}

describe('incoming calls', () => {
  it('stores the call and answers it with the seed answer body, carrying the app token', async () => {
    const call = await answeredCall();

    const answers = h.sim.requestsTo('answer', call.id);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.body).toEqual({
      callbackUri: BOT_CALLBACK_URL,
      acceptedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    });
    expect(answers[0]!.authorization).toMatch(/^Bearer sim-graph-token-/);
    expect(answers[0]!.status).toBe(202);

    const row = await h.runtime.store.get(call.id);
    expect(row).toMatchObject({ callId: call.id, state: 'incoming', direction: 'incoming', keepAliveFailures: 0 });
    // The seed's incoming notification names no tenant: the token's tid is kept instead.
    expect(row!.tenantId).toBe(SIM_TENANT_ID);
    expect(row!.source).toMatchObject({ identity: { user: { displayName: 'Test User' } } });
  });

  it('answers once when Graph delivers the same incoming notification twice, even at the same time', async () => {
    const call = h.sim.placeIncomingCall();
    const body = incomingCallNotification(call.id);
    const responses = await Promise.all([h.post(body), h.post(body), h.post(body)]);
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(h.sim.requestsTo('answer', call.id)).toHaveLength(1);
    expect(h.logs.some((l) => l.message.includes(`Call ${call.id}: duplicate incoming notification`))).toBe(true);
  });

  it('keeps the meeting join information of a group-call invitation so the meeting can be rejoined', async () => {
    const chatInfo = { '@odata.type': '#microsoft.graph.chatInfo', threadId: '19:meeting_abc@thread.v2', messageId: '0' };
    const meetingInfo = {
      '@odata.type': '#microsoft.graph.organizerMeetingInfo',
      organizer: { user: { id: '5810cede-f3cc-42eb-b2c1-e9bd5d53ec96', tenantId: SIM_TENANT_ID } },
    };
    const call = await answeredCall({ chatInfo, meetingInfo, tenantId: 'aaaabbbb-0000-1111-2222-333344445555' });
    const row = await h.runtime.store.get(call.id);
    expect(row).toMatchObject({ chatInfo, meetingInfo, tenantId: 'aaaabbbb-0000-1111-2222-333344445555' });
  });

  it('drops the row when Graph refuses the answer outright (403), and logs the failure', async () => {
    const call = h.sim.placeIncomingCall();
    h.sim.failNext('answer', { status: 403, times: 1 });
    const response = await h.post(incomingCallNotification(call.id));
    expect(response.status).toBe(202);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: 'error', message: expect.stringContaining(`Call ${call.id}: answer refused (Graph 403`) }),
    );
  });

  it('retries a throttled answer after Retry-After', async () => {
    const call = h.sim.placeIncomingCall();
    h.sim.failNext('answer', { status: 429, retryAfterSeconds: 1, times: 1 });
    await h.post(incomingCallNotification(call.id));
    const answers = h.sim.requestsTo('answer', call.id);
    expect(answers.map((a) => a.status)).toEqual([429, 202]);
    expect(answers[1]!.receivedAt - answers[0]!.receivedAt).toBeGreaterThanOrEqual(950);
    expect(await h.runtime.store.get(call.id)).toBeDefined();
  });
});

describe('state updates', () => {
  it('moves the call to established and records when', async () => {
    const call = await answeredCall();
    expect((await h.post(stateNotification(call.id, 'establishing'))).status).toBe(202);
    expect((await h.runtime.store.get(call.id))!.state).toBe('establishing');
    await h.post(stateNotification(call.id, 'established'));
    const row = await h.runtime.store.get(call.id);
    expect(row!.state).toBe('established');
    expect(row!.establishedAt).toBeInstanceOf(Date);
  });

  it('never moves an established call back when establishing arrives late', async () => {
    const call = await answeredCall();
    await h.post(stateNotification(call.id, 'established'));
    await h.post(stateNotification(call.id, 'establishing'));
    expect((await h.runtime.store.get(call.id))!.state).toBe('established');
    expect(h.logs.some((l) => l.message.includes(`Call ${call.id}: "establishing" does not move the call`))).toBe(true);
  });

  it('keeps both updates when two instances handle notifications for one call at once', async () => {
    const call = await answeredCall();
    const chatInfo = { threadId: '19:meeting_race@thread.v2', messageId: '0' };
    await Promise.all([
      h.post(stateNotification(call.id, 'established')),
      h.post(stateNotification(call.id, 'establishing', { chatInfo })),
    ]);
    const row = await h.runtime.store.get(call.id);
    expect(row!.state).toBe('established');
    expect(row!.chatInfo).toEqual(chatInfo);
  });

  it('does not create a row for an update about a call it does not track', async () => {
    const response = await h.post(stateNotification('00000000-dead-beef-0000-000000000000', 'established'));
    expect(response.status).toBe(202);
    expect(await h.runtime.store.get('00000000-dead-beef-0000-000000000000')).toBeUndefined();
  });
});

describe('terminated calls', () => {
  it('deletes the row and logs resultInfo', async () => {
    const call = await answeredCall();
    await h.post(stateNotification(call.id, 'established'));
    await h.post(terminatedNotification(call.id, { code: 200, subcode: 5001, message: 'Call ended by the remote user' }));
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs).toContainEqual({
      level: 'information',
      message: `Call ${call.id} ended (resultInfo 200/5001: Call ended by the remote user)`,
    });
  });

  it('treats a terminated state in an updated notification the same way', async () => {
    const call = await answeredCall();
    await h.post(stateNotification(call.id, 'terminated', { resultInfo: { code: 200, subcode: 5002 } }));
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
  });

  it('logs a call dropped for a missing keepAlive (408/8537) as an error', async () => {
    const call = await answeredCall();
    await h.post(terminatedNotification(call.id, { code: 408, subcode: 8537, message: 'Call was terminated due to inactivity' }));
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs).toContainEqual({
      level: 'error',
      message: expect.stringContaining(`Call ${call.id} was dropped by Graph for a missing keepAlive (resultInfo 408/8537`),
    });
  });

  it('does not bring a call back when establishing arrives after terminated', async () => {
    const call = await answeredCall();
    await h.post(terminatedNotification(call.id, { code: 200, subcode: 5001, message: 'ended' }));
    await h.post(stateNotification(call.id, 'establishing'));
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
  });
});

describe('a row this version cannot read', () => {
  it('does not ask Graph to redeliver a state or roster update it can never apply, and still ends the call', async () => {
    const call = await answeredCall();
    await writeRawColumns(h.runtime, call.id, { state: 'parked' });
    expect((await h.post(stateNotification(call.id, 'established'))).status).toBe(202);
    const batch = {
      value: [
        ...(rosterNotification(call.id, []).value as unknown[]),
        ...(terminatedNotification(call.id, { code: 200, subcode: 5001, message: 'ended' }).value as unknown[]),
      ],
    };
    expect((await h.post(batch)).status).toBe(202);
    await expect(h.runtime.store.get(call.id)).resolves.toBeUndefined();
  });

  it('is removed on the call’s termination instead of failing it (and its redeliveries) for ever', async () => {
    const call = await answeredCall();
    await writeRawColumns(h.runtime, call.id, { state: 'parked', chatInfo: '{not json' });
    const response = await h.post(terminatedNotification(call.id, { code: 200, subcode: 5001, message: 'ended' }));
    expect(response.status).toBe(202);
    await expect(h.runtime.store.get(call.id)).resolves.toBeUndefined();
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: 'warning', message: expect.stringContaining(`Call ${call.id}: its row cannot be read`) }),
    );
  });
});

describe('sub-resource notifications', () => {
  it.each([
    ['a participant leaving', 'deleted', 'participants/p1', undefined],
    ['content sharing started', 'created', 'contentsharingsessions/2765eb15-01f8-47c6-b12b-c32111a4a86f', undefined],
    ['operations', 'updated', 'operations/11111111-2222-3333-4444-555555555555', { status: 'completed' }],
  ] as const)('accepts %s and leaves the call as it is', async (_name, changeType, sub, data) => {
    const call = await answeredCall();
    const before = await h.runtime.store.get(call.id);
    const response = await h.post(notificationBody(changeType, `/communications/calls/${call.id}/${sub}`, data));
    expect(response.status).toBe(202);
    expect(await h.runtime.store.get(call.id)).toEqual(before);
  });
});

describe('authentication', () => {
  it('refuses a request without a token, with no side effect, and logs why without the token', async () => {
    const call = h.sim.placeIncomingCall();
    const requestsBefore = h.sim.requests.length;
    const response = await h.post(incomingCallNotification(call.id), '');
    expect(response.status).toBe(401);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.sim.requests.length).toBe(requestsBefore);
    expect(h.logs.at(-1)).toEqual({ level: 'warning', message: 'Notification refused (401): missing Bearer token' });
  });

  it('refuses an expired token and does not log the token itself', async () => {
    const call = h.sim.placeIncomingCall();
    const token = await h.sim.notificationToken({ exp: Math.floor(Date.now() / 1000) - 3600 });
    const response = await h.post(incomingCallNotification(call.id), `Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(response.jsonBody).toEqual({ error: 'unauthorized' });
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs.at(-1)!.message).toContain('ERR_JWT_EXPIRED');
    expect(h.logs.some((l) => l.message.includes(token))).toBe(false);
  });
});

describe('bad bodies', () => {
  it.each([
    ['an empty body', '', 'empty body'],
    ['malformed JSON', '{"value": [', 'body is not valid JSON'],
    ['a JSON body that is not a notification', { hello: 'world' }, 'not a commsNotifications body: value'],
    ['an empty notification list', { value: [] }, 'not a commsNotifications body: value'],
    ['a value that is not a list', { value: { changeType: 'updated' } }, 'not a commsNotifications body: value'],
  ])('answers 400 to %s', async (_name, body, reason) => {
    const response = await h.post(body);
    expect(response.status).toBe(400);
    expect((response.jsonBody as { error: string }).error).toContain(reason);
  });

  it.each([
    ['an unknown changeType', { changeType: 'moved', resourceUrl: '/communications/calls/abc' }, 'changeType'],
    [
      'a resource that is not a call',
      { changeType: 'updated', resourceUrl: '/communications/onlineMeetings/abc' },
      'is not a /communications/calls/{id} resource',
    ],
    [
      'a call id with a path separator',
      { changeType: 'updated', resourceUrl: '/communications/calls/a\\b' },
      'is not a /communications/calls/{id} resource',
    ],
    [
      'call data of the wrong shape',
      { changeType: 'updated', resourceUrl: '/communications/calls/abc', resourceData: { state: 7 } },
      'resourceData.state',
    ],
    ['an entry that is not an object', 'hello', 'body: '],
  ])('acts on the valid entries of a batch with %s, logs the bad one and answers 202', async (_name, bad, reason) => {
    const call = h.sim.placeIncomingCall();
    const [incoming] = (incomingCallNotification(call.id) as { value: unknown[] }).value;
    const response = await h.post({ value: [bad, incoming] });
    expect(response.status).toBe(202);
    expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'incoming' });
    expect(h.logs).toContainEqual({ level: 'warning', message: expect.stringMatching(/^Notification value\[0\] skipped: /) });
    expect(h.logs.filter((l) => l.message.startsWith('Notification value[0] skipped')).at(-1)!.message).toContain(reason);
  });

  it('logs a bad entry without the control characters it carries', async () => {
    const response = await h.post({ value: [{ changeType: 'updated', resourceUrl: '/elsewhere\nForged: line' }] });
    expect(response.status).toBe(202);
    const line = h.logs.filter((l) => l.message.startsWith('Notification value[0] skipped')).at(-1)!.message;
    expect(line).toContain('Forged: line');
    expect(line).not.toMatch(/[\r\n]/);
  });

  it('answers 413 to a body over the size limit, unread when its content-length says so', async () => {
    const notifications = createNotificationsHandler(() => h.runtime);
    const token = `Bearer ${await h.sim.notificationToken()}`;
    const big = JSON.stringify({
      value: [{ changeType: 'updated', resourceUrl: '/communications/calls/c1', pad: 'x'.repeat(MAX_NOTIFICATION_BODY_BYTES) }],
    });
    const oversized = await notifications(notificationRequest(big, token), testContext('notifications', h.logs));
    expect(oversized.status).toBe(413);
    expect(oversized.jsonBody).toEqual({ error: `body larger than ${MAX_NOTIFICATION_BODY_BYTES} bytes` });

    const declared = new HttpRequest({
      method: 'POST',
      url: 'https://bot.example.test/api/calls',
      headers: { authorization: token, 'content-length': String(MAX_NOTIFICATION_BODY_BYTES + 1) },
      body: { string: '{}' },
    });
    expect((await notifications(declared, testContext('notifications', h.logs))).status).toBe(413);
  });
});

// JSON.stringify itself overflows the stack on such values, so deep bodies are written as text.
const DEEP = '__deep__';
/** JSON text of an object `levels` deep: {"key":{"key":...{}}}. */
function deepJson(key: string, levels: number): string {
  return `{"${key}":`.repeat(levels) + '{}' + '}'.repeat(levels);
}
/** The body as JSON text, with `raw` in place of the `DEEP` placeholder. */
function withRawJson(body: unknown, raw: string): string {
  return JSON.stringify(body).replace(`"${DEEP}"`, raw);
}

// Deliveries as field logs show them.
describe('bodies as Graph really sends them', () => {
  it('answers an incoming call whose optional fields are null', async () => {
    const call = h.sim.placeIncomingCall();
    const body = incomingCallNotification(call.id, {
      source: null,
      direction: null,
      tenantId: null,
      chatInfo: null,
      meetingInfo: null,
      applicationMetadata: null,
    });
    const response = await h.post(body);
    expect(response.status).toBe(202);
    expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    expect(h.sim.requestsTo('answer', call.id)[0]!.body).not.toHaveProperty('participantCapacity');
    const row = await h.runtime.store.get(call.id);
    expect(row).toMatchObject({ state: 'incoming', tenantId: SIM_TENANT_ID });
    expect(row!.source).toBeUndefined();
  });

  it('reads changeType and state in any case', async () => {
    const call = await answeredCall();
    const body = stateNotification(call.id, 'Established') as { value: Array<Record<string, unknown>> };
    body.value[0]!['changeType'] = 'Updated';
    expect((await h.post(body)).status).toBe(202);
    expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'established' });

    const ended = terminatedNotification(call.id, { code: 200, subcode: 5001, message: 'ended' }) as {
      value: Array<Record<string, unknown>>;
    };
    ended.value[0]!['changeType'] = 'Deleted';
    expect((await h.post(ended)).status).toBe(202);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
  });

  it('answers and stores a call whose source is nested 100,000 levels deep, without that source', async () => {
    const call = h.sim.placeIncomingCall();
    const source = deepJson('identity', 100_000);
    const response = await h.post(
      withRawJson(incomingCallNotification(call.id, { source: DEEP, chatInfo: { threadId: '19:t@thread.v2' } }), source),
    );
    expect(response.status).toBe(202);
    expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    const row = await h.runtime.store.get(call.id);
    expect(row).toMatchObject({ state: 'incoming', chatInfo: { threadId: '19:t@thread.v2' } });
    expect(row!.source).toBeUndefined();
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(new RegExp(`^Call ${call.id}: source \\(nested deeper than \\d+ levels\\) is not stored$`)),
    });

    // Its later updates carry the same source, and are applied the same way.
    expect((await h.post(withRawJson(stateNotification(call.id, 'established', { source: DEEP }), source))).status).toBe(202);
    expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'established' });
  });

  it('stores a call whose meetingInfo is too large for a Table Storage property, without it', async () => {
    const call = h.sim.placeIncomingCall();
    const meetingInfo = { '@odata.type': '#microsoft.graph.tokenMeetingInfo', token: 'x'.repeat(200_000) };
    expect((await h.post(incomingCallNotification(call.id, { meetingInfo }))).status).toBe(202);
    expect(h.sim.requestsTo('answer', call.id)).toHaveLength(1);
    expect((await h.runtime.store.get(call.id))!.meetingInfo).toBeUndefined();
  });

  it('ends a call whose resultInfo carries a deep extra field, and logs the keepAlive drop', async () => {
    const call = await answeredCall();
    const body = terminatedNotification(call.id, { code: 408, subcode: 8537, message: 'inactive' }) as {
      value: Array<{ resourceData: { resultInfo: Record<string, unknown> } }>;
    };
    body.value[0]!.resourceData.resultInfo['extra'] = DEEP;
    expect((await h.post(withRawJson(body, deepJson('inner', 100_000)))).status).toBe(202);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
    expect(h.logs).toContainEqual({
      level: 'error',
      message: expect.stringContaining(`Call ${call.id} was dropped by Graph for a missing keepAlive`),
    });
  });
});

describe('an entry that cannot be carried out', () => {
  // The real store, except that the calls in `unreachable` live on a table endpoint nobody
  // listens on: their reads and writes fail as a storage outage would.
  function storeUnreachableFor(real: CallStore, unreachable: Set<string>): CallStore {
    const closedPort =
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=eQ==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;';
    const broken = new TableCallStore(
      TableClient.fromConnectionString(closedPort, 'unreachable', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } }),
    );
    const route = (callId: string): CallStore => (unreachable.has(callId) ? broken : real);
    return Object.assign(Object.create(real) as CallStore, {
      get: (callId: string) => route(callId).get(callId),
      insert: (call: CallRecord) => route(call.callId).insert(call),
      update: (callId: string, decide: DecideChange, known?: StoredCall) => route(callId).update(callId, decide, known),
      remove: (callId: string) => route(callId).remove(callId),
    });
  }

  async function withStore<T>(store: CallStore, run: () => Promise<T>): Promise<T> {
    const real = h.runtime.store;
    h.runtime.store = store;
    try {
      return await run();
    } finally {
      h.runtime.store = real;
    }
  }

  it('carries out the other entries, answers 503, and a redelivery completes the batch without doing anything twice', async () => {
    const a = h.sim.placeIncomingCall();
    const b = h.sim.placeIncomingCall();
    const entries = (body: Record<string, unknown>) => (body as { value: unknown[] }).value;
    const batch = {
      value: [
        ...entries(incomingCallNotification(a.id)),
        ...entries(incomingCallNotification(b.id)),
        ...entries(stateNotification(a.id, 'established')),
      ],
    };

    const first = await withStore(storeUnreachableFor(h.runtime.store, new Set([a.id])), () => h.post(batch));
    expect(first.status).toBe(503);
    expect(h.sim.requestsTo('answer', a.id)).toHaveLength(0);
    expect(h.sim.requestsTo('answer', b.id).map((r) => r.status)).toEqual([202]);
    expect(await h.runtime.store.get(b.id)).toMatchObject({ state: 'incoming' });
    expect(h.logs).toContainEqual({
      level: 'error',
      message: expect.stringMatching(new RegExp(`^Call ${a.id}: value\\[0\\] failed; asking Graph to deliver again: `)),
    });
    expect(h.logs).toContainEqual({
      level: 'warning',
      message: `Call ${a.id}: value[2] waits for the redelivery, after an earlier notification of this call failed`,
    });

    // Graph delivers the batch again once storage is back.
    const again = await h.post(batch);
    expect(again.status).toBe(202);
    expect(h.sim.requestsTo('answer', a.id).map((r) => r.status)).toEqual([202]);
    expect(h.sim.requestsTo('answer', b.id)).toHaveLength(1);
    expect(await h.runtime.store.get(a.id)).toMatchObject({ state: 'established' });
  });

  it('does not ask for a redelivery of data the store refuses for good, and logs it as an error', async () => {
    const call = h.sim.placeIncomingCall();
    const real = h.runtime.store;
    const refusing = Object.assign(Object.create(real) as CallStore, {
      insert: () => Promise.reject(new RestError('The property value exceeds the maximum allowed size (64KB).', { statusCode: 400 })),
    });
    const response = await withStore(refusing, () => h.post(incomingCallNotification(call.id)));
    expect(response.status).toBe(202);
    expect(h.sim.requestsTo('answer', call.id)).toHaveLength(0);
    expect(h.logs).toContainEqual({
      level: 'error',
      message: expect.stringContaining(`Call ${call.id}: value[0] cannot be stored, not retried: RestError: The property value exceeds`),
    });
  });
});
