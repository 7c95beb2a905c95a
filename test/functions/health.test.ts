import { TableClient } from '@azure/data-tables';
import { afterEach, expect, it } from 'vitest';
import { createKeepAliveShardSweepHandler } from '../../functions/keepAliveShardSweep.js';
import { createKeepAliveSweepHandler, shardQueueOutput } from '../../functions/keepAliveSweep.js';
import type { HealthReport } from '../../shared/health/assessHealth.js';
import { TableCallStore } from '../../shared/calls/tableCallStore.js';
import type { SweepStatusStore } from '../../shared/keepAlive/sweepStatus.js';
import { startHarness, testContext, timer, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(() => h.stop());

async function health(): Promise<{ status: number | undefined; report: HealthReport }> {
  const response = await h.health();
  return { status: response.status, report: response.jsonBody as HealthReport };
}

it('reports the active calls and the last sweep, and 200 while keepAlives succeed', async () => {
  h = await startHarness();
  await h.establishedCall();
  await h.establishedCall();
  h.clock.advanceMinutes(15);
  await h.sweep();
  h.clock.advanceMinutes(4);

  const { status, report } = await health();
  expect(status).toBe(200);
  expect(report).toMatchObject({
    status: 'healthy',
    problems: [],
    activeCalls: 2,
    oldestKeepAliveAgeMinutes: 4,
    keepAliveLimitMinutes: 45,
    lastSweep: { mode: 'inline', outcome: 'ok', summary: { active: 2, sent: 2, ok: 2 } },
  });
});

it('answers 503 when every keepAlive fails and, later, when a call has gone 30 minutes without one', async () => {
  h = await startHarness();
  await h.establishedCall();
  h.sim.failNext('keepAlive', { status: 500, times: Infinity, code: 'InternalServerError' });
  h.clock.advanceMinutes(20);
  await h.sweep();

  let { status, report } = await health();
  expect(status).toBe(503);
  expect(report.problems).toEqual(['the last keepAlive sweep failed: every keepAlive it sent failed']);

  // Graph recovers for other calls but this one keeps failing: the age is what now matters.
  h.clock.advanceMinutes(11);
  ({ status, report } = await health());
  expect(status).toBe(503);
  expect(report.oldestKeepAliveAgeMinutes).toBe(31);
  expect(report.problems.join('\n')).toMatch(/about 31 minutes old/);
});

it('answers 503 when the timer has not swept for 15 minutes while calls are active', async () => {
  h = await startHarness();
  await h.establishedCall();
  await h.sweep();
  h.clock.advanceMinutes(16);
  const { status, report } = await health();
  expect(status).toBe(503);
  expect(report.problems).toEqual(['the last keepAlive sweep finished 16 minutes ago; the timer runs every 5 minutes']);
});

it('records a sweep that could not run (the table unreachable) as failed, and still throws it to the host', async () => {
  const closedPort = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=eQ==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;`;
  // No retries: the refusal is what matters here, not the SDK's backoff.
  const broken = new TableCallStore(
    TableClient.fromConnectionString(closedPort, 'unreachable', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } }),
  );
  // Fan-out off: the timer sweeps itself. (With fan-out on, a timer that cannot count the calls and
  // has no inline run on record hands them out instead; keepAliveShardSweep.test.ts.)
  h = await startHarness({ SWEEP_FANOUT: 'off' }, { store: broken });
  const sweep = createKeepAliveSweepHandler(() => h.runtime);
  await expect(sweep(timer, testContext('keepAliveSweep', h.logs))).rejects.toThrow();

  const { status, report } = await health();
  expect(status).toBe(503);
  expect(report.problems.some((p) => p.startsWith('the call table is unreachable'))).toBe(true);
  expect(report.activeCalls).toBeNull();
  const records = await h.runtime.sweepStatus.all();
  expect(records).toMatchObject([{ scope: 'timer', outcome: 'failed' }]);
});

it('logs, and does not fail the sweep, when its outcome cannot be recorded', async () => {
  const refusing: SweepStatusStore = {
    record: () => Promise.reject(new Error('status table offline')),
    all: () => Promise.resolve([]),
  };
  h = await startHarness({}, { sweepStatus: refusing });
  await h.establishedCall();
  h.clock.advanceMinutes(15);
  expect(await h.sweep()).toMatchObject({ ok: 1 });
  expect(h.logs).toContainEqual({
    level: 'error',
    message: 'keepAlive sweep timer: outcome "ok" not recorded for GET /api/health: status table offline',
  });
});

it('follows a fanned-out sweep through its shard sweeps', async () => {
  h = await startHarness({ SWEEP_FANOUT_THRESHOLD: '0' });
  await h.establishedCall();
  h.clock.advanceMinutes(15);
  const context = testContext('keepAliveSweep', h.logs);
  const fanOut = await createKeepAliveSweepHandler(() => h.runtime)(timer, context);
  expect(fanOut.mode).toBe('fanned-out');
  // What the timer's queue output binding hands the host.
  const enqueued = context.extraOutputs.get(shardQueueOutput) as unknown[];
  expect(enqueued).toHaveLength(32);

  const shardSweep = createKeepAliveShardSweepHandler(() => h.runtime);
  for (const message of enqueued.slice(0, 31)) await shardSweep(message, testContext('keepAliveShardSweep', h.logs, { dequeueCount: 1 }));

  let { status, report } = await health();
  expect(status).toBe(200);
  const fannedOutAt = h.clock.now().toISOString();
  const never = (enqueued[31] as { shard: string }).shard;
  expect(report.lastSweep).toMatchObject({
    mode: 'fanned-out',
    outcome: 'ok',
    shards: { fannedOutSince: h.clock.now().toISOString(), swept: 31, failed: [], overdue: [], pending: [never] },
  });

  // The timer keeps handing the sweep out every 5 minutes, but no shard sweep runs any more.
  for (let run = 0; run < 3; run++) {
    h.clock.advanceMinutes(5);
    await createKeepAliveSweepHandler(() => h.runtime)(timer, testContext('keepAliveSweep', h.logs));
  }
  h.clock.advanceMinutes(1);
  ({ status, report } = await health());
  expect(status).toBe(503);
  expect(report.problems).toEqual([
    expect.stringMatching(
      /^keepAlive shard sweeps last finished more than 15 minutes ago: (shard-\d\d \(16 min\), ){30}shard-\d\d \(16 min\)$/,
    ),
    `1 shard sweeps have not reported since the sweep was fanned out at ${fannedOutAt}: ${never}`,
  ]);
});

it('answers 503 when the timer hands the sweep out but no shard sweep has ever run', async () => {
  h = await startHarness({ SWEEP_FANOUT_THRESHOLD: '0' });
  await h.establishedCall();
  const timerSweep = createKeepAliveSweepHandler(() => h.runtime);
  await timerSweep(timer, testContext('keepAliveSweep', h.logs));
  expect((await health()).status).toBe(200); // a fresh fan-out: its shards have time to report

  for (let run = 0; run < 3; run++) {
    h.clock.advanceMinutes(5);
    await timerSweep(timer, testContext('keepAliveSweep', h.logs));
  }
  h.clock.advanceMinutes(1);
  const { status, report } = await health();
  expect(status).toBe(503);
  expect(report.problems).toEqual([expect.stringMatching(/^32 shard sweeps have not reported since the sweep was fanned out at /)]);
});

it('keeps its records in a table of its own, so listings and sweeps never see them', async () => {
  h = await startHarness();
  await h.establishedCall();
  await h.sweep();
  expect(await h.runtime.sweepStatus.all()).toHaveLength(1);
  const listed = (await h.list()).jsonBody as { calls: unknown[] };
  expect(listed.calls).toHaveLength(1);
});
