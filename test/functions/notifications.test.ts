import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  incomingCallNotification,
  notificationBody,
  SIM_TENANT_ID,
  stateNotification,
  terminatedNotification,
} from '../support/graphSimulator.js';
import { BOT_CALLBACK_URL, startHarness, type Harness } from '../support/harness.js';

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
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining(`Call ${call.id}: answer refused (Graph 403`) }));
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
    ['an unknown changeType', { value: [{ changeType: 'moved', resourceUrl: '/communications/calls/abc' }] }, 'value.0.changeType'],
    ['a resource that is not a call', notificationBody('updated', '/communications/onlineMeetings/abc', { state: 'x' }), 'is not a /communications/calls/{id} resource'],
    ['a call id with a path separator', notificationBody('updated', '/communications/calls/a\\b', { state: 'established' }), 'is not a /communications/calls/{id} resource'],
  ])('answers 400 to %s', async (_name, body, reason) => {
    const response = await h.post(body);
    expect(response.status).toBe(400);
    expect((response.jsonBody as { error: string }).error).toContain(reason);
  });

  it('refuses a whole batch with one bad entry and acts on none of it', async () => {
    const call = h.sim.placeIncomingCall();
    const good = incomingCallNotification(call.id) as { value: unknown[] };
    const batch = { value: [...good.value, { changeType: 'updated', resourceUrl: '/not/a/call' }] };
    const response = await h.post(batch);
    expect(response.status).toBe(400);
    expect((response.jsonBody as { error: string }).error).toMatch(/^value\[1\]: /);
    expect(h.sim.requestsTo('answer', call.id)).toHaveLength(0);
    expect(await h.runtime.store.get(call.id)).toBeUndefined();
  });
});
