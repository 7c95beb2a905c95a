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

it('keeps the identity library and the queue SDK out of what a cold instance loads first', async () => {
  const { readFile, readdir } = await import('node:fs/promises');
  // The entry file and the chunks it imports statically: what the host reads before any function runs.
  const loadedFirst = new Set<string>();
  const visit = async (file: string) => {
    if (loadedFirst.has(file)) return;
    loadedFirst.add(file);
    const text = await readFile(join('dist', file), 'utf8');
    const statics = [
      ...text.matchAll(/^(?:import|export|\}) .*?from "\.\/(?:chunks\/)?([^"]+\.js)";$|^import "\.\/(?:chunks\/)?([^"]+\.js)";$/gm),
    ];
    for (const match of statics)
      await visit(file.startsWith('chunks/') ? `chunks/${match[1] ?? match[2]}` : `chunks/${match[1] ?? match[2]}`);
  };
  await visit('main.js');
  const sources = (text: string) => new Set([...text.matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!));
  const first = new Set<string>();
  for (const file of loadedFirst) for (const pkg of sources(await readFile(join('dist', file), 'utf8'))) first.add(pkg);
  expect(first).toContain('@azure/data-tables');
  for (const lazy of ['@azure/identity', '@azure/msal-node', '@azure/storage-queue']) expect(first).not.toContain(lazy);

  // They are in chunks of their own, read on first use.
  const later = new Set<string>();
  for (const file of await readdir('dist/chunks')) {
    if (file.endsWith('.js') && !loadedFirst.has(`chunks/${file}`)) {
      for (const pkg of sources(await readFile(join('dist/chunks', file), 'utf8'))) later.add(pkg);
    }
  }
  for (const lazy of ['@azure/identity', '@azure/msal-node', '@azure/storage-queue']) expect(later).toContain(lazy);
});
