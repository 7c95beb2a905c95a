import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIM_BOT_APP_ID, SIM_TENANT_ID } from '../../tools/graphSimulator.js';
import { BOT_CALLBACK_URL, startHarness, type Harness } from '../support/harness.js';

const INSTANCE = '3d913abb-aec0-4964-8fa6-3c6850c4f278';
const U1 = '112f7296-5fa4-42ca-bae8-6a692b15d4b8';
const U2 = '98da8a1a-1b87-452c-a713-65d3f10b5555';
const U3 = 'bf5aae9a-d11d-47a8-93b1-782504c95555';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ PSTN_APPLICATION_INSTANCE_ID: INSTANCE, PSTN_APPLICATION_INSTANCE_DISPLAY_NAME: 'Calling Bot' });
});
afterAll(() => h.stop());
beforeEach(() => h.sim.clearFaults());

interface Created {
  callId: string;
  state: string;
}

const lastCreateBody = () => h.sim.requestsTo('create').at(-1)!.body as Record<string, unknown>;

describe('POST /api/calls/outgoing', () => {
  it('calls one Teams user (peer-to-peer): 201, the create-call body of example 1, and a row kept alive like any other', async () => {
    const response = await h.placeCall({ targets: [{ userId: U1, displayName: 'John' }], clientContext: 'incident-42' });
    expect(response.status).toBe(201);
    const { callId, state } = response.jsonBody as Created;
    expect(state).toBe('establishing');
    expect(response.headers).toEqual({ location: `/api/calls/${callId}` });
    expect(lastCreateBody()).toEqual({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: expect.stringMatching(new RegExp(`^${BOT_CALLBACK_URL}\\?joinId=[0-9a-f-]{36}$`)),
      targets: [
        {
          '@odata.type': '#microsoft.graph.invitationParticipantInfo',
          identity: {
            '@odata.type': '#microsoft.graph.identitySet',
            user: { '@odata.type': '#microsoft.graph.identity', id: U1, displayName: 'John' },
          },
        },
      ],
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      tenantId: SIM_TENANT_ID,
    });
    const row = await h.runtime.store.get(callId);
    expect(row).toMatchObject({ state: 'establishing', direction: 'outgoing', tenantId: SIM_TENANT_ID, keepAliveFailures: 0 });
    expect(row!.outgoing).toEqual({
      targets: [{ kind: 'user', userId: U1, displayName: 'John' }],
      tenantId: SIM_TENANT_ID,
      source: { kind: 'application', id: SIM_BOT_APP_ID },
      collectTone: false,
      clientContext: 'incident-42',
    });
    expect(row!.joinInfo).toBeUndefined();

    h.clock.advanceMinutes(15);
    const swept = await h.sweep();
    expect(swept.ok).toBeGreaterThanOrEqual(1);
    expect(h.sim.calls.get(callId)!.keepAlives).toBe(1);
    expect((await h.runtime.store.get(callId))!.keepAlivesSent).toBe(1);
  });

  it('starts a group call with up to five users: direction outgoing, the bot as source', async () => {
    const response = await h.placeCall({ targets: [{ userId: U1 }, { userId: U2 }, { userId: U3 }] });
    expect(response.status).toBe(201);
    const body = lastCreateBody();
    expect(body['direction']).toBe('outgoing');
    expect(body['source']).toEqual({
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: {
        '@odata.type': '#microsoft.graph.identitySet',
        application: { '@odata.type': '#microsoft.graph.identity', id: SIM_BOT_APP_ID },
      },
    });
    expect(body['targets']).toHaveLength(3);
    const { callId } = response.jsonBody as Created;
    expect(await h.runtime.store.get(callId)).toBeDefined();

    await h.sim.answerOutgoing(callId);
    await h.sim.terminate(callId, { code: 200, subcode: 5001, message: 'The last participant left' });
    expect((await h.getCall(callId)).jsonBody).toMatchObject({
      state: 'terminated',
      targets: [{ userId: U1 }, { userId: U2 }, { userId: U3 }],
      answered: true,
      resultInfo: { code: 200, subcode: 5001 },
    });
  });

  it('calls a phone number from the application instance (PSTN)', async () => {
    const response = await h.placeCall({ targets: [{ phone: '+14255550123' }] });
    expect(response.status).toBe(201);
    expect(lastCreateBody()).toMatchObject({
      source: {
        identity: { applicationInstance: { '@odata.type': '#microsoft.graph.identity', id: INSTANCE, displayName: 'Calling Bot' } },
      },
      targets: [{ identity: { phone: { '@odata.type': '#microsoft.graph.identity', id: '+14255550123' } } }],
      tenantId: SIM_TENANT_ID,
    });
    const { callId } = response.jsonBody as Created;
    const row = await h.runtime.store.get(callId);
    expect(row!.outgoing!.targets).toEqual([{ kind: 'phone', phone: '+14255550123' }]);

    // Nobody picks up: the history says so, with the number called.
    await h.sim.ringUnanswered(callId);
    expect((await h.getCall(callId)).jsonBody).toMatchObject({
      state: 'terminated',
      targets: [{ kind: 'phone', phone: '+14255550123' }],
      answered: false,
      resultInfo: { code: 408, subcode: 10057 },
    });
  });

  it.each([
    ['bad JSON', '{"targets": ', 'body is not valid JSON'],
    ['an empty body', '', 'body is empty'],
    ['a mixed call', { targets: [{ phone: '+14255550123' }, { userId: U1 }] }, 'targets mix phone numbers and users'],
    ['hangUpAfter prompt without a prompt', { targets: [{ userId: U1 }], hangUpAfter: 'prompt' }, 'no prompt is given'],
  ])('answers 400 for %s and asks nothing of Graph', async (_, body, reason) => {
    const creates = h.sim.requestsTo('create').length;
    const response = await h.placeCall(body);
    expect(response.status).toBe(400);
    expect((response.jsonBody as { error: { code: string; message: string } }).error).toEqual({
      code: 'BadRequest',
      message: expect.stringContaining(reason) as string,
    });
    expect(h.sim.requestsTo('create')).toHaveLength(creates);
  });

  it("passes Graph's refusal on, and keeps no row", async () => {
    h.sim.failNext('create', { status: 403, times: 1, code: 'Forbidden', message: 'Calls.Initiate.All is not granted' });
    const before = (await h.list()).jsonBody as { calls: unknown[] };
    const response = await h.placeCall({ targets: [{ userId: U1 }] });
    expect(response.status).toBe(403);
    expect(response.jsonBody).toEqual({ error: { code: 'Forbidden', message: 'Calls.Initiate.All is not granted' } });
    expect(((await h.list()).jsonBody as { calls: unknown[] }).calls).toHaveLength(before.calls.length);
  });

  it('answers 202 pending when the create outcome is unknown, sends no second create, and adopts the call when Graph reports it', async () => {
    h.sim.failNext('create', { status: 504, times: 1, afterWork: true });
    const creates = h.sim.requestsTo('create').length;
    const response = await h.placeCall({ targets: [{ userId: U1 }], prompt: 'https://cdn.example.com/a.wav' });
    expect(response.status).toBe(202);
    expect(h.sim.requestsTo('create')).toHaveLength(creates + 1);
    const call = h.sim.lastCreatedCall()!;
    expect(await h.runtime.store.get(call.id)).toBeUndefined();

    await h.sim.sendState(call.id, 'establishing');
    const adopted = await h.runtime.store.get(call.id);
    expect(adopted).toMatchObject({ direction: 'outgoing', state: 'establishing' });
    expect(adopted!.outgoing!.prompt).toBe('https://cdn.example.com/a.wav');
  });
});
