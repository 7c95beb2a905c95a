import { TableClient } from '@azure/data-tables';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { warmUpOnStart } from '../../functions/warmUp.js';
import { ConfigError } from '../../shared/config.js';
import { warmUp } from '../../shared/warmUp.js';
import { incomingCallNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness, type LogEntry } from '../support/harness.js';

let h: Harness;
afterEach(() => h.stop());

/** A Logger that keeps its lines, as the host keeps console output at start-up. */
function startLog(lines: LogEntry[]) {
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push({ level, message: args.map(String).join(' ') });
  return { debug: at('debug'), info: at('info'), warn: at('warning'), error: at('error') };
}

describe('warm-up as an instance starts (app.hook.appStart)', () => {
  it('without it, the first notification waits for the signing keys and a Graph token', async () => {
    h = await startHarness();
    const response = await h.post(incomingCallNotification(h.sim.placeIncomingCall().id));
    expect(response.status).toBe(202);
    expect(h.sim.signerRequests('openIdConfig')).toHaveLength(1);
    expect(h.sim.signerRequests('jwks')).toHaveLength(1);
    expect(h.sim.tokenRequests()).toHaveLength(1);
  });

  it('loads the keys and a Graph token, so the first notification and its answer request neither', async () => {
    h = await startHarness();
    const lines: LogEntry[] = [];
    await warmUpOnStart(() => h.runtime, startLog(lines));
    expect(lines).toContainEqual({ level: 'info', message: 'Warm-up: signing keys loaded, Graph token ready, calls table ready' });
    const warmedUp = h.sim.requests.length;
    expect(h.sim.signerRequests('jwks')).toHaveLength(1);
    expect(h.sim.tokenRequests()).toHaveLength(1);

    const call = h.sim.placeIncomingCall();
    const response = await h.post(incomingCallNotification(call.id));
    expect(response.status).toBe(202);
    const since = h.sim.requests.slice(warmedUp);
    expect(since.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /v1.0/communications/calls/${call.id}/answer`]);
  });

  it('creates the calls table, so the first call finds it', async () => {
    h = await startHarness();
    const table = TableClient.fromConnectionString(inject('storageConnectionString'), h.runtime.config.callsTable.tableName, {
      allowInsecureConnection: true,
    });
    await expect(table.listEntities().byPage().next()).rejects.toMatchObject({ statusCode: 404 });
    await warmUpOnStart(() => h.runtime, startLog([]));
    await expect(table.listEntities().byPage().next()).resolves.toMatchObject({ done: false });
  });

  it('shares its requests with a first notification that comes while it is under way', async () => {
    h = await startHarness();
    h.sim.failSigner('openIdConfig', { status: 200, latencyMs: 200, times: 1 });
    h.sim.tokenLatencyMs = 200;
    const lines: LogEntry[] = [];
    // Not awaited, as the appStart hook leaves it: the instance takes work at once.
    const warming = warmUpOnStart(() => h.runtime, startLog(lines));

    const call = h.sim.placeIncomingCall();
    const [response] = await Promise.all([h.post(incomingCallNotification(call.id)), warming]);
    expect(response.status).toBe(202);
    expect(lines).toContainEqual({ level: 'info', message: 'Warm-up: signing keys loaded, Graph token ready, calls table ready' });
    expect(h.sim.signerRequests('openIdConfig')).toHaveLength(1);
    expect(h.sim.signerRequests('jwks')).toHaveLength(1);
    expect(h.sim.tokenRequests()).toHaveLength(1);
  });

  it('and the Graph client ask for one token between them', async () => {
    h = await startHarness();
    h.sim.tokenLatencyMs = 200;
    const call = h.sim.placeIncomingCall();
    call.state = 'established';
    const [, keptAlive] = await Promise.all([warmUpOnStart(() => h.runtime, startLog([])), h.runtime.graph.keepAlive(call.id)]);
    expect(keptAlive.ok).toBe(true);
    expect(h.sim.tokenRequests()).toHaveLength(1);
  });

  it('logs what it could not load and lets the instance start', async () => {
    h = await startHarness();
    h.sim.failSigner('openIdConfig', { status: 503, times: 1 });
    const lines: LogEntry[] = [];
    const noIdentity = () => {
      throw new Error('no managed identity on this machine');
    };
    const unreachable = { prepare: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) };
    const result = await warmUp({
      authenticator: h.runtime.authenticator,
      graphCredential: noIdentity,
      callStore: unreachable,
      log: startLog(lines),
    });

    expect(result).toEqual({ signingKeys: 'failed', graphToken: 'failed', callsTable: 'failed' });
    expect(lines).toEqual([
      { level: 'warning', message: expect.stringMatching(/^Warm-up: notification signing keys not loaded .*answered 503$/) },
      {
        level: 'warning',
        message: 'Warm-up: no Graph token yet (the first Graph request will try again): no managed identity on this machine',
      },
      {
        level: 'warning',
        message: 'Warm-up: the calls table not reached (the first call will try again): connect ECONNREFUSED 127.0.0.1:1',
      },
      { level: 'info', message: 'Warm-up: signing keys failed, Graph token failed, calls table failed' },
    ]);
  });

  it('gives up at its deadline rather than hold the instance back', async () => {
    h = await startHarness();
    h.sim.failSigner('openIdConfig', { status: 200, latencyMs: 3_000, times: 1 });
    const lines: LogEntry[] = [];
    const result = await warmUp({
      authenticator: h.runtime.authenticator,
      graphCredential: h.runtime.graphCredential,
      callStore: h.runtime.store,
      log: startLog(lines),
      timeoutMs: 50,
    });
    expect(result.signingKeys).toBe('failed');
    expect(lines[0]!.message).toContain('not done within the warm-up time');
  });

  it('logs a bad setting instead of throwing, so the instance still starts', async () => {
    h = await startHarness();
    const lines: LogEntry[] = [];
    await expect(
      warmUpOnStart(() => {
        throw new ConfigError('Invalid app settings: BOT_APP_ID is required');
      }, startLog(lines)),
    ).resolves.toBeUndefined();
    expect(lines).toEqual([{ level: 'error', message: 'Warm-up skipped: Invalid app settings: BOT_APP_ID is required' }]);
  });
});
