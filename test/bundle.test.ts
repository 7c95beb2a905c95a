import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { incomingCallNotification } from '../tools/graphSimulator.js';
import { startHarness, testSettings, type Harness } from './support/harness.js';

const run = promisify(execFile);

// The file the Functions host loads (package.json `main`) is a bundle, not the sources the other
// tests import: it is built here and made to answer a call in a process of its own, with the real
// Table and Graph clients against Azurite and the simulator.
let h: Harness;
let dir: string;
beforeAll(async () => {
  await run(process.execPath, ['esbuild.config.mjs']);
  h = await startHarness();
  dir = await mkdtemp(join(tmpdir(), 'bundle-'));
}, 60_000);
afterAll(async () => {
  await h.stop();
  await rm(dir, { recursive: true, force: true });
});

it('dist/main.js registers the functions and answers an incoming call on its own', async () => {
  const call = h.sim.placeIncomingCall();
  const file = join(dir, 'call.json');
  await writeFile(
    file,
    JSON.stringify({
      notifications: [{ callId: call.id, body: incomingCallNotification(call.id) }],
      token: await h.sim.notificationToken(),
    }),
  );
  const { stdout } = await run(process.execPath, ['bench/worker.mjs', 'coldStart'], {
    env: { ...process.env, ...testSettings(h.sim), BENCH_BURST_FILE: file, BENCH_ENTRY: 'bundle' },
    timeout: 60_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { status: number; entry: string; errors: string[] };
  expect(result).toMatchObject({ entry: 'bundle', status: 202, errors: [] });
  expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
}, 60_000);
