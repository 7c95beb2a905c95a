import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { incomingCallNotification, stateNotification, terminatedNotification, GraphSimulator } from '../tools/graphSimulator.js';
import { notificationRequest, testContext, testSettings, timer, type LogEntry } from './support/harness.js';
import { inject } from 'vitest';

// The whole life of calls through the function handlers exactly as the Functions host loads
// them: settings come from the environment, the runtime is built on first use.
let sim: GraphSimulator;
const logs: LogEntry[] = [];
let notifications: typeof import('../functions/notifications.js').notifications;
let keepAliveSweep: typeof import('../functions/keepAliveSweep.js').keepAliveSweep;
let store: import('../shared/calls/callStore.js').CallStore;

beforeAll(async () => {
  sim = await new GraphSimulator(inject('simulatorTls')).start();
  Object.assign(process.env, testSettings(sim, { KEEPALIVE_INTERVAL_MINUTES: '0' }));
  ({ notifications } = await import('../functions/notifications.js'));
  ({ keepAliveSweep } = await import('../functions/keepAliveSweep.js'));
  store = (await import('../functions/app/runtime.js')).appRuntime().store;
  sim.onNotification = async (body, authorization) => {
    await notifications(notificationRequest(body, authorization), testContext('notifications', logs));
  };
});
afterAll(() => sim.stop());

const sweep = async () => {
  const result = await keepAliveSweep(timer, testContext('keepAliveSweep', logs));
  if (result.mode !== 'inline') throw new Error(`expected an in-process sweep, got ${result.mode}`);
  return result.summary;
};

it('incoming -> answered -> established -> swept -> ended at Graph -> 404 -> row gone -> no more keepAlives', async () => {
  const call = sim.placeIncomingCall();
  await sim.notify(incomingCallNotification(call.id));
  expect(sim.calls.get(call.id)!.answerRequests).toHaveLength(1);
  await sim.notify(stateNotification(call.id, 'establishing'));
  await sim.notify(stateNotification(call.id, 'established'));
  expect((await store.get(call.id))!.state).toBe('established');

  expect(await sweep()).toMatchObject({ active: 1, sent: 1, ok: 1 });
  expect((await store.get(call.id))!.lastKeepAliveAt).toBeInstanceOf(Date);

  sim.endCallSilently(call.id);
  expect(await sweep()).toMatchObject({ active: 1, sent: 1, ended: 1 });
  expect(await store.get(call.id)).toBeUndefined();

  expect(await sweep()).toMatchObject({ active: 0, sent: 0 });
  expect(sim.requestsTo('keepAlive', call.id).map((r) => r.status)).toEqual([200, 404]);
});

it('a call that Graph reports terminated is gone before the next sweep', async () => {
  const call = sim.placeIncomingCall();
  await sim.notify(incomingCallNotification(call.id));
  await sim.notify(stateNotification(call.id, 'established'));
  await sim.notify(terminatedNotification(call.id, { code: 200, subcode: 5001, message: 'The remote party hung up' }));
  expect(await store.get(call.id)).toBeUndefined();
  await sweep();
  expect(sim.requestsTo('keepAlive', call.id)).toHaveLength(0);
});

it('a call the bot hangs up (Graph: delete 204, then a terminated notification) leaves no row', async () => {
  const { createGraphClient, createGraphCredential } = await import('../shared/graph/graphClient.js');
  const { appRuntime } = await import('../functions/app/runtime.js');
  const { config, managedIdentity } = appRuntime();
  const client = createGraphClient(config.graphBaseUrl, createGraphCredential(config.bot, managedIdentity));

  const created = (await client.api('/communications/calls').post({
    '@odata.type': '#microsoft.graph.call',
    callbackUri: config.bot.callbackUrl,
    targets: [
      {
        '@odata.type': '#microsoft.graph.invitationParticipantInfo',
        identity: { '@odata.type': '#microsoft.graph.identitySet', user: { '@odata.type': '#microsoft.graph.identity', id: randomUUID() } },
      },
    ],
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    tenantId: config.bot.tenantId,
  })) as { id: string; state: string };
  expect(created.state).toBe('establishing');
  await store.insert({ callId: created.id, state: 'establishing', createdAt: new Date(), keepAliveFailures: 0, direction: 'outgoing' });
  await sim.notify(stateNotification(created.id, 'established'));

  await client.api(`/communications/calls/${created.id}`).delete();
  await expect.poll(() => store.get(created.id)).toBeUndefined();
  expect(logs).toContainEqual({
    level: 'information',
    message: `Call ${created.id} ended (resultInfo 200/7000: Call ended by the application)`,
  });
});
