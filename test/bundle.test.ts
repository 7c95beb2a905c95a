import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleOptions } from '../esbuild.options.mjs';
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
  // The build's own account of its outputs: which packages each file holds, and how it imports the others.
  const { metafile } = await build({ ...bundleOptions, metafile: true, write: false, logLevel: 'silent' });
  if (!metafile) throw new Error('esbuild gave no metafile');
  const outputs = metafile.outputs;
  const packagesIn = (file: string) =>
    new Set(Object.keys(outputs[file]!.inputs).flatMap((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? []));
  // The entry file and the chunks it imports statically: what the host reads before any function runs.
  const loadedFirst = new Set<string>();
  const visit = (file: string) => {
    if (loadedFirst.has(file)) return;
    loadedFirst.add(file);
    for (const { path, kind } of outputs[file]!.imports) if (kind === 'import-statement' && path in outputs) visit(path);
  };
  visit('dist/main.js');
  const first = new Set([...loadedFirst].flatMap((file) => [...packagesIn(file)]));
  expect(first).toContain('@azure/data-tables');
  expect(first).toContain('@microsoft/microsoft-graph-client');
  for (const lazy of ['@azure/identity', '@azure/msal-node', '@azure/storage-queue']) expect(first).not.toContain(lazy);

  // They are in chunks of their own, read on first use.
  const later = new Set(
    Object.keys(outputs)
      .filter((file) => file.endsWith('.js') && !loadedFirst.has(file))
      .flatMap((file) => [...packagesIn(file)]),
  );
  for (const lazy of ['@azure/identity', '@azure/msal-node', '@azure/storage-queue']) expect(later).toContain(lazy);
});

it('holds, of the identity library, the credentials the app builds and not unused ones such as DefaultAzureCredential', async () => {
  const { metafile } = await build({ ...bundleOptions, metafile: true, write: false, logLevel: 'silent' });
  if (!metafile) throw new Error('esbuild gave no metafile');
  // How many bytes of each identity credential's source the outputs hold.
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const credential = /node_modules\/@azure\/identity\/dist\/esm\/credentials\/(\w+)/.exec(input)?.[1];
      if (credential) bytes.set(credential, (bytes.get(credential) ?? 0) + bytesInOutput);
    }
  }
  for (const used of ['clientSecretCredential', 'clientAssertionCredential', 'managedIdentityCredential']) {
    expect(bytes.get(used)).toBeGreaterThan(1_000);
  }
  // Of an unused credential only its logger's line is kept (the call could have effects).
  for (const unused of ['defaultAzureCredential', 'interactiveBrowserCredential', 'deviceCodeCredential', 'azureCliCredential']) {
    expect(bytes.get(unused) ?? 0).toBeLessThan(200);
  }
});

it('loads @azure/functions with require, so Node does not scan it for export names on a cold start', async () => {
  const main = await readFile('dist/main.js', 'utf8');
  expect(main).toContain('__require("@azure/functions")');
  expect(main).not.toMatch(/(?:from|import\()\s*"@azure\/functions"/);
});

it("records the app's metrics through the bundled OpenTelemetry API on the SDK registered from node_modules", async () => {
  // The distribution registers its SDK with its own copy of the API; the bundle's copy must find it.
  const { stdout } = await run(process.execPath, ['test/support/bundleMetrics.mjs'], {
    env: { ...process.env, ...testSettings(h.sim) },
    timeout: 60_000,
  });
  const { names } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { names: string[] };
  expect(names).toEqual(expect.arrayContaining(['keepalive.sweep.calls', 'keepalive.sweeps']));
}, 60_000);
