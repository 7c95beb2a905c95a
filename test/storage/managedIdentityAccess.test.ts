import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { QueueClient } from '@azure/storage-queue';
import { randomUUID } from 'node:crypto';
import { UnsecuredJWT } from 'jose';
import { afterEach, expect, inject, it } from 'vitest';
import { createKeepAliveSweepHandler, shardQueueOutput } from '../../functions/keepAliveSweep.js';
import { TableCallStore } from '../../shared/calls/tableCallStore.js';
import { StorageRejoinQueue } from '../../shared/meetings/rejoinQueue.js';
import { incomingCallNotification } from '../../tools/graphSimulator.js';
import { startHarness, testContext, timer, type Harness } from '../support/harness.js';

/**
 * Stands in for the app's managed identity: issues Entra-shaped storage tokens (Azurite's basic
 * OAuth checks issuer, audience and lifetime, not the signature) and records what was asked for.
 */
class StorageTokenIssuer implements TokenCredential {
  readonly scopesAsked: string[] = [];
  constructor(private readonly lifetimeSeconds = 3600) {}

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    this.scopesAsked.push(...[scopes].flat());
    const now = Math.floor(Date.now() / 1000);
    const expires = now + this.lifetimeSeconds;
    const token = new UnsecuredJWT({ oid: randomUUID(), tid: randomUUID() })
      .setAudience('https://storage.azure.com')
      .setIssuer(`https://sts.windows.net/${randomUUID()}/`)
      .setIssuedAt(now - 600)
      .setNotBefore(now - 600)
      .setExpirationTime(expires)
      .encode();
    return { token, expiresOnTimestamp: expires * 1000 };
  }
}

const endpoints = inject('identityStorageEndpoints');
const tableName = () => `mi${randomUUID().replace(/-/g, '').slice(0, 20)}`;
let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

it('keeps calls in a table reached by endpoint with a bearer token, batches included', async () => {
  const identity = new StorageTokenIssuer();
  const store = TableCallStore.open({ kind: 'managedIdentity', endpoint: endpoints.table }, tableName(), () => identity);
  const callId = randomUUID();
  const createdAt = new Date(Date.now() - 20 * 60_000);
  expect(await store.insert({ callId, state: 'established', createdAt, keepAliveFailures: 0 })).toBe('inserted');
  expect((await store.get(callId))?.state).toBe('established');

  const other = randomUUID();
  await store.insert({ callId: other, state: 'established', createdAt, keepAliveFailures: 0 });
  const pages: string[][] = [];
  for await (const page of store.pages()) pages.push(page.calls.map((c) => c.callId));
  expect(pages.flat().sort()).toEqual([callId, other].sort());

  const at = new Date();
  const stored = [(await store.get(callId))!, (await store.get(other))!];
  const recorded = await store.recordKeepAliveResults(stored.map((c) => ({ call: c, outcome: 'ok' as const, at })));
  expect(recorded).toEqual({ written: 2, missing: 0 });
  expect((await store.get(other))?.lastKeepAliveAt?.getTime()).toBe(at.getTime());
  expect(await store.remove(callId)).toBe('removed');
  expect(identity.scopesAsked.length).toBeGreaterThan(0);
  expect(new Set(identity.scopesAsked)).toEqual(new Set(['https://storage.azure.com/.default']));
});

it('is refused by the service when the identity token has expired (the token is really checked)', async () => {
  const store = TableCallStore.open({ kind: 'managedIdentity', endpoint: endpoints.table }, tableName(), () => new StorageTokenIssuer(-60));
  await expect(store.get(randomUUID())).rejects.toMatchObject({ statusCode: 403 }); // Storage answers AuthenticationFailed with 403;
});

it('runs the app on identity-based storage: an answered call gets its row, a rejoin its queue message', async () => {
  const identity = new StorageTokenIssuer();
  const queueName = `mi${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  h = await startHarness(
    {
      AzureWebJobsStorage: '',
      AzureWebJobsStorage__queueServiceUri: endpoints.queue,
      AzureWebJobsStorage__credential: 'managedidentity',
      CALLS_TABLE_ENDPOINT: endpoints.table,
      SWEEP_FANOUT_THRESHOLD: '0',
    },
    {
      managedIdentity: () => identity,
      // The production queue name is fixed by the trigger binding; this test's queue is its own.
      rejoinQueue: new StorageRejoinQueue({ kind: 'managedIdentity', endpoint: endpoints.queue }, () => identity, queueName),
    },
  );
  expect(h.runtime.config.callsTable.access.kind).toBe('managedIdentity');

  const call = h.sim.placeIncomingCall();
  expect((await h.post(incomingCallNotification(call.id))).status).toBe(202);
  expect(call.answerRequests).toHaveLength(1);
  expect((await h.runtime.store.get(call.id))?.state).toBe('incoming');

  // A fan-out's shard messages go out through the timer's output binding (the host writes them with its own identity).
  const context = testContext('keepAliveSweep', h.logs);
  expect(await createKeepAliveSweepHandler(() => h!.runtime)(timer, context)).toMatchObject({ mode: 'fanned-out', shards: 32 });
  expect(context.extraOutputs.get(shardQueueOutput)).toHaveLength(32);

  // The host's own queue endpoint, reached with the identity: a rejoin's message lands there.
  await h.runtime.rejoinQueue.schedule({ kind: 'rejoin', callId: call.id, joinInfo: { meetingInfo: {}, tenantId: 't' }, attempt: 1 }, 0);
  const queue = new QueueClient(`${endpoints.queue}/${queueName}`, identity);
  expect((await queue.getProperties()).approximateMessagesCount).toBe(1);
});
