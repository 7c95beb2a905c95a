import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleOptions } from '../esbuild.options.mjs';
import { incomingCallNotification } from '../tools/graphSimulator.js';
import { startHarness, testSettings, type Harness } from './support/harness.js';
import { TableCallStore } from '../shared/calls/tableCallStore.js';
import { NO_TOKEN_CREDENTIAL } from '../shared/storage/storageClients.js';

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

/** The build's own account of its outputs (built once): which packages each file holds, and what a cold instance reads first. */
let layout: ReturnType<typeof buildLayout> | undefined;
const bundleLayout = () => (layout ??= buildLayout());
async function buildLayout() {
  const { metafile } = await build({ ...bundleOptions, metafile: true, write: false, logLevel: 'silent' });
  if (!metafile) throw new Error('esbuild gave no metafile');
  const outputs = metafile.outputs;
  const packagesIn = (files: Iterable<string>) =>
    new Set(
      [...files].flatMap((file) =>
        Object.keys(outputs[file]!.inputs).flatMap((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? []),
      ),
    );
  // The entry file and the chunks it imports statically: what the host reads before any function runs.
  const loadedFirst = new Set<string>();
  const visit = (file: string) => {
    if (loadedFirst.has(file)) return;
    loadedFirst.add(file);
    for (const { path, kind } of outputs[file]!.imports) if (kind === 'import-statement' && path in outputs) visit(path);
  };
  visit('dist/main.js');
  const scripts = Object.keys(outputs).filter((file) => file.endsWith('.js'));
  return {
    metafile,
    first: packagesIn(loadedFirst),
    later: packagesIn(scripts.filter((file) => !loadedFirst.has(file))),
    anywhere: packagesIn(scripts),
  };
}

/** A new process loads dist/main.js and answers one incoming call, with these settings over the usual ones. */
async function answerThroughTheBundle(settings: Record<string, string> = {}) {
  const call = h.sim.placeIncomingCall();
  const file = join(dir, `${call.id}.json`);
  await writeFile(
    file,
    JSON.stringify({
      notifications: [{ callId: call.id, body: incomingCallNotification(call.id) }],
      token: await h.sim.notificationToken(),
    }),
  );
  const { stdout, stderr } = await run(process.execPath, ['bench/worker.mjs', 'coldStart'], {
    env: { ...process.env, ...testSettings(h.sim), ...settings, BENCH_BURST_FILE: file, BENCH_ENTRY: 'bundle' },
    timeout: 60_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { status: number; entry: string; errors: string[] };
  return { call, result, stderr };
}

it('dist/main.js registers the functions and answers an incoming call on its own', async () => {
  const { call, result } = await answerThroughTheBundle();
  expect(result).toMatchObject({ entry: 'bundle', status: 202, errors: [] });
  expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
}, 60_000);

it('answers with a Graph token got through the managed identity and a federated assertion, the other credentials the app builds', async () => {
  // App Service's managed identity endpoint (https://learn.microsoft.com/en-us/azure/app-service/overview-managed-identity#rest-endpoint-reference),
  // as MSAL finds it from IDENTITY_ENDPOINT and IDENTITY_HEADER: it issues the token that the bundle
  // presents to the token service as its client assertion, with no secret.
  const asked: { resource: string | null; header: string | undefined }[] = [];
  const identityEndpoint = createHttpServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    asked.push({ resource: url.searchParams.get('resource'), header: request.headers['x-identity-header'] as string | undefined });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        access_token: 'mi-assertion-from-the-bundle',
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
      }),
    );
  });
  await new Promise<void>((resolve) => identityEndpoint.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = identityEndpoint.address() as AddressInfo;
    const { call, result } = await answerThroughTheBundle({
      BOT_APP_SECRET: '',
      IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
      IDENTITY_HEADER: 'identity-header-secret',
    });
    expect(result).toMatchObject({ status: 202, errors: [] });
    expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every(({ resource, header }) => resource === 'api://AzureADTokenExchange' && header === 'identity-header-secret')).toBe(
      true,
    );
    const tokenRequests = h.sim.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token'));
    const form = new URLSearchParams(String(tokenRequests.at(-1)!.body));
    expect(form.get('client_assertion')).toBe('mi-assertion-from-the-bundle');
    expect(form.get('client_secret')).toBeNull();
  } finally {
    await new Promise<void>((resolve) => identityEndpoint.close(() => resolve()));
  }
}, 60_000);

it('with Application Insights configured, loads the distribution from its chunk and sends the telemetry of an answer', async () => {
  const { call, result } = await answerThroughTheBundle({
    ...h.sim.appInsightsSettings(),
    // Every trace kept: by default the distribution samples a few traces a second, and which of
    // this start's requests it keeps is a matter of timing.
    APPLICATIONINSIGHTS_CONFIGURATION_CONTENT: JSON.stringify({ samplingRatio: 1, tracesPerSecond: 0 }),
  });
  expect(result).toMatchObject({ status: 202, errors: [] });
  const dependencies = h.sim
    .telemetryItems()
    .filter((item) => item.data?.baseType === 'RemoteDependencyData')
    .map(({ data }) => ({
      name: String(data!.baseData!['name']),
      type: data!.baseData!['type'],
      resultCode: data!.baseData!['resultCode'],
    }));
  // The answer, sent through node:https: the distribution's HTTP instrumentation patched the
  // module objects the bundle calls.
  expect(dependencies).toContainEqual({ name: `POST /v1.0/communications/calls/${call.id}/answer`, type: 'Http', resultCode: '202' });
  // A Table operation as the Azure SDK's own span: its instrumentation found @azure/core-tracing,
  // which stays outside the bundle for that.
  expect(dependencies.filter((d) => d.type === 'InProc | Microsoft.Data.Tables').length).toBeGreaterThan(0);
}, 60_000);

it('gives up the telemetry still unsent after 4 s when the worker stops, so a worker whose ingestion endpoint does not answer still exits', async () => {
  h.sim.ingestionLatencyMs = 60_000;
  try {
    const { call, stderr } = await answerThroughTheBundle(h.sim.appInsightsSettings());
    expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
    expect(stderr).toContain('Telemetry not all sent before the worker stops: not done within 4000 ms');
  } finally {
    h.sim.ingestionLatencyMs = 0;
  }
}, 60_000);

it('answers calls without telemetry when its connection string is malformed, and says which setting to fix', async () => {
  const { call, result, stderr } = await answerThroughTheBundle({
    ...h.sim.appInsightsSettings(),
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'not a connection string',
  });
  expect(result).toMatchObject({ status: 202, errors: [] });
  expect(h.sim.requestsTo('answer', call.id).map((r) => r.status)).toEqual([202]);
  expect(stderr).toMatch(/Telemetry not started, the app runs without it: check APPLICATIONINSIGHTS_CONNECTION_STRING/);
}, 60_000);

it("keeps calls alive through the bundle, and removes the row of one that Graph says has ended (the bundled Graph client's errors read as the sources read them)", async () => {
  const settings = testSettings(h.sim);
  const store = TableCallStore.open(
    { kind: 'connectionString', connectionString: settings['AzureWebJobsStorage']! },
    settings['CALLS_TABLE_NAME']!,
    NO_TOKEN_CREDENTIAL,
  );
  const live = h.sim.placeIncomingCall();
  const ended = randomUUID();
  const createdAt = new Date(Date.now() - 20 * 60_000);
  for (const callId of [live.id, ended]) await store.insert({ callId, state: 'established', createdAt, keepAliveFailures: 0 });

  const { stdout } = await run(process.execPath, ['bench/worker.mjs', 'sweep'], {
    env: { ...process.env, ...settings, BENCH_ENTRY: 'bundle' },
    timeout: 60_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { sweep: { summary: { ok: number; ended: number } }; errors: string[] };
  expect(result.errors).toEqual([]);
  expect(result.sweep.summary).toMatchObject({ ok: 1, ended: 1 });
  expect(live.keepAlives).toBe(1);
  expect(h.sim.requestsTo('keepAlive', ended).map((r) => r.status)).toEqual([404]);
  expect(await store.get(ended)).toBeUndefined();
  expect((await store.get(live.id))?.state).toBe('established');
}, 60_000);

it('keeps the identity library, the queue SDK and the telemetry distribution out of what a cold instance loads first', async () => {
  const { first, later } = await bundleLayout();
  expect(first).toContain('@azure/data-tables');
  expect(first).toContain('@microsoft/microsoft-graph-client');
  const lazy = ['@azure/identity', '@azure/msal-node', '@azure/storage-queue', '@azure/monitor-opentelemetry', '@opentelemetry/sdk-node'];
  for (const name of lazy) expect(first).not.toContain(name);

  // They are in chunks of their own, read on first use.
  for (const name of lazy) expect(later).toContain(name);
});

it('holds, of the identity library, the credentials the app builds and not unused ones such as DefaultAzureCredential', async () => {
  const { metafile } = await bundleLayout();
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

it("leaves out of a cold instance's first read the XML library the Table SDK imports, and MSAL's JWT signer altogether", async () => {
  const { metafile, first, anywhere } = await bundleLayout();
  expect(first).toContain('@azure/data-tables');
  expect(first).not.toContain('fast-xml-parser');
  expect(first).not.toContain('@azure/core-xml');
  // The real parser is still there for the first XML answer, read on first use: the stand-in's
  // import of @azure/core-xml reaches the package, not the stand-in again.
  expect(anywhere).toContain('@azure/core-xml');
  const standInImports = metafile.inputs['shared/storage/tableXml.ts']!.imports.filter((i) => i.original === '@azure/core-xml');
  expect(standInImports.map((i) => [i.kind, i.path.startsWith('node_modules/@azure/core-xml/')])).toEqual([['dynamic-import', true]]);
  expect(anywhere).toContain('@azure/msal-node');
  for (const gone of ['jsonwebtoken', 'jws']) expect(anywhere).not.toContain(gone);
  // jsonwebtoken's semver went with it; the OpenTelemetry instrumentation, in the telemetry chunks,
  // has a semver of its own.
  const semverImporters = Object.entries(metafile.inputs)
    .filter(([, input]) => input.imports.some((i) => i.original === 'semver' || i.original?.startsWith('semver/')))
    .map(([file]) => file);
  expect(semverImporters.filter((file) => !/node_modules\/(?:.*\/)?@opentelemetry\/instrumentation\//.test(file))).toEqual([]);
});

it('gives the stand-ins only to packages that use no more of them than the stand-ins provide', async () => {
  const { metafile } = await bundleLayout();
  // The package files the build read that import `specifier` (whatever build of the package it chose).
  const importersOf = (specifier: string) =>
    Object.entries(metafile.inputs)
      .filter(([, input]) => input.imports.some((imported) => imported.original === specifier))
      .map(([file]) => file);

  // The Table SDK takes parseXML and stringifyXML, and hands them to the pipeline as options.
  const xmlImporters = importersOf('@azure/core-xml').filter((file) => file.includes('node_modules/@azure/data-tables/'));
  expect(xmlImporters.length).toBeGreaterThan(0);
  for (const file of xmlImporters) {
    const source = await readFile(file, 'utf8');
    const names = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*["']@azure\/core-xml["']/g)].flatMap(([, list]) =>
      list!.split(',').map((name) => name.trim()),
    );
    expect(new Set(names)).toEqual(new Set(['parseXML', 'stringifyXML']));
    // Used only as shorthand properties of the pipeline's options, which parse any XML answer and
    // serialize only the XML bodies of the operations eslint.config.js refuses the app.
    const lines = source
      .split('\n')
      .filter((line) => /\b(parseXML|stringifyXML)\b/.test(line) && !line.includes('@azure/core-xml'))
      .map((line) => line.trim());
    expect(new Set(lines)).toEqual(new Set(['parseXML,', 'stringifyXML,']));
  }

  // MSAL signs with jsonwebtoken's default export, and only there.
  const jwtImporters = importersOf('jsonwebtoken');
  expect(jwtImporters.length).toBeGreaterThan(0);
  for (const file of jwtImporters) {
    expect(file).toContain('node_modules/@azure/msal-node/');
    const source = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const name = /import\s+(\w+)\s+from\s*["']jsonwebtoken["']/.exec(source)?.[1];
    expect(name, `${file} imports jsonwebtoken in a way the stand-in does not provide`).toBeDefined();
    const uses = [...source.matchAll(new RegExp(`(?<![.\\w])${name}\\b(\\.\\w+)?`, 'g'))].map(([use]) => use);
    // The import itself, then only `.sign` (a certificate credential's assertion).
    expect(uses.slice(1).length).toBeGreaterThan(0);
    expect(new Set(uses.slice(1))).toEqual(new Set([`${name}.sign`]));
  }
});

it("bundles the Graph client's ES module build, which esbuild can tree-shake", async () => {
  const { metafile } = await bundleLayout();
  const graphClientFiles = Object.keys(metafile.inputs).filter((input) =>
    input.includes('node_modules/@microsoft/microsoft-graph-client/'),
  );
  expect(graphClientFiles.length).toBeGreaterThan(0);
  expect(graphClientFiles.filter((file) => !file.includes('/microsoft-graph-client/lib/es/'))).toEqual([]);
  // Tree-shaken, it is about half of its CommonJS build (103 KB of a bundle of that, 51 KB of this).
  const bytes = Object.values(metafile.outputs)
    .flatMap((output) => Object.entries(output.inputs))
    .filter(([input]) => input.includes('node_modules/@microsoft/microsoft-graph-client/'))
    .reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);
  expect(bytes).toBeLessThan(70_000);
});
