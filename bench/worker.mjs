// One measured run of the app's real entry files, in a fresh process so its memory is its own.
// `node bench/worker.mjs sweep` runs one timer sweep (and reports the shard messages of a fan-out);
// `shards` sweeps the shard messages in BENCH_SHARDS one after another, as one instance of the
// queue trigger does (host.json batchSize 1); `node bench/worker.mjs burst` fires the
// notifications named in BENCH_BURST_FILE at once; `coldStart` answers the first of them in a
// process that has done nothing else. Settings come from the environment, as in
// Azure. The last stdout line is the JSON result.
import net from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const mode = process.argv[2];
// `bundle`: dist/main.js, the one file the host loads; `files`: tsc's output, one module per file
// (how the app was built before the bundle), for a side-by-side comparison in one run. BENCH_DIST
// names another build's dist folder (an older checkout's), for either entry.
const entry = process.env.BENCH_ENTRY ?? 'bundle';
const dist = pathToFileURL(`${process.env.BENCH_DIST ?? join(import.meta.dirname, '..', 'dist')}/`);

// Cold start: loading the entry files must open no connection (clients are created on first use).
let connectsDuringLoad = 0;
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function countConnect(...args) {
  connectsDuringLoad++;
  return originalConnect.apply(this, args);
};
const loadStart = performance.now();
const modules = {};
if (entry === 'bundle') {
  const main = await import(new URL('main.js', dist).href);
  modules.notifications = main;
  modules.keepAliveSweep = main;
  modules.keepAliveShardSweep = main;
  modules.warmUp = main;
} else {
  // Every entry file, as the host loads the glob `dist/functions/*.js` of a build's package.json.
  const names = (await readdir(new URL('functions/', dist))).filter((file) => file.endsWith('.js')).sort();
  for (const file of names) modules[file.slice(0, -3)] = await import(new URL(`functions/${file}`, dist).href);
}
const moduleLoadMs = performance.now() - loadStart;
net.Socket.prototype.connect = originalConnect;

// The CommonJS package the app loaded: required, as the bundle requires it (the Functions worker,
// itself CommonJS, never imports it as an ES module, which would make Node scan it for exports).
const { HttpRequest, InvocationContext } = createRequire(import.meta.url)('@azure/functions');
const logs = [];
const context = (functionName) =>
  new InvocationContext({
    functionName,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
  });

/** Graph's POST of one notification: with its own token if it has one (`--burst-tokens unique`), else `token`. */
const notificationRequest = (notification, token) =>
  new HttpRequest({
    method: 'POST',
    url: 'https://bot.example.test/api/calls',
    headers: { authorization: `Bearer ${notification.token ?? token}` },
    body: { string: JSON.stringify(notification.body) },
  });

// Peak RSS comes from the kernel (maxRSS); the heap is sampled, sparsely enough not to cost CPU.
let peakHeap = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 100);
const baselineRss = process.memoryUsage().rss;

// performance.timeOrigin is when this process started (epoch ms): a cold start counts from there.
const result = {
  mode,
  entry,
  moduleLoadMs,
  connectsDuringLoad,
  baselineRssMb: baselineRss / 2 ** 20,
  processStartedAt: performance.timeOrigin,
};
const started = performance.now();
const cpuAtStart = process.cpuUsage();
if (mode === 'sweep') {
  const timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: undefined };
  const timerContext = context('keepAliveSweep');
  result.sweep = await modules.keepAliveSweep.keepAliveSweep(timer, timerContext);
  if (result.sweep.mode === 'fanned-out') result.shardMessages = timerContext.extraOutputs.get(modules.keepAliveSweep.shardQueueOutput);
} else if (mode === 'shards') {
  result.shards = [];
  for (const message of JSON.parse(process.env.BENCH_SHARDS)) {
    const swept = await modules.keepAliveShardSweep.keepAliveShardSweep(message, context('keepAliveShardSweep'));
    result.shards.push({ shard: swept.shard, summary: swept.summary });
  }
} else if (mode === 'burst') {
  // Incoming-call notifications shaped as in the Graph docs, built by the parent with the simulator's builders.
  const { notifications, token } = JSON.parse(await readFile(process.env.BENCH_BURST_FILE, 'utf8'));
  result.receivedAt = {};
  result.statuses = {};
  const requestFor = (notification) => notificationRequest(notification, token);
  if (process.env.BENCH_WARM === '1') {
    // A warm instance has answered a call before: its keys, Graph token and table are in hand.
    const warmUp = notifications.shift();
    await modules.notifications.notifications(requestFor(warmUp), context('notifications'));
    result.warmUpCallId = warmUp.callId;
  }
  await Promise.all(
    notifications.map(async (notification) => {
      const id = notification.callId;
      const request = requestFor(notification);
      result.receivedAt[id] = Date.now();
      const response = await modules.notifications.notifications(request, context('notifications'));
      result.statuses[response.status] = (result.statuses[response.status] ?? 0) + 1;
    }),
  );
} else if (mode === 'coldStart') {
  // The call that wakes a cold instance: signing keys and Graph token not fetched yet, the table
  // not touched. As the Functions worker does, the app's appStart hook runs once the entry file
  // is loaded (it starts the warm-up and returns), and the first invocation comes after it. The
  // parent reads when the answer reached the simulator.
  const { notifications, token } = JSON.parse(await readFile(process.env.BENCH_BURST_FILE, 'utf8'));
  if (!modules.warmUp?.startWarmUp && !modules.warmUp?.warmUpOnStart) {
    throw new Error(
      `${dist.pathname}functions/warmUp.js has no appStart warm-up (startWarmUp or warmUpOnStart): not a build this bench can start`,
    );
  }
  if (modules.warmUp.startWarmUp) await modules.warmUp.startWarmUp();
  else {
    // A build from before the warm-up stopped holding the hook: the host awaited it before the
    // instance took work, and so does this.
    const { appRuntime } = await import(new URL('functions/app/runtime.js', dist).href);
    await modules.warmUp.warmUpOnStart(appRuntime);
  }
  const [first] = notifications;
  const response = await modules.notifications.notifications(notificationRequest(first, token), context('notifications'));
  result.callId = first.callId;
  result.status = response.status;
  // The process's CPU (all its threads) from its start to the answer: a cold start is CPU-bound,
  // and this figure moves less with the machine's load than the wall time does.
  const used = process.cpuUsage();
  result.processCpuMs = (used.user + used.system) / 1000;
} else {
  throw new Error(`unknown mode ${mode}; use sweep, burst or coldStart`);
}
result.wallMs = performance.now() - started;
// CPU (user + system) this process spent on the measured work, warm-up call included.
const cpu = process.cpuUsage(cpuAtStart);
result.cpuMs = (cpu.user + cpu.system) / 1000;
clearInterval(sampler);
result.peakRssMb = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
result.peakHeapMb = peakHeap / 2 ** 20;
result.errors = logs.filter((line) => line.startsWith('error')).slice(0, 5);
// A keepAlive that failed is a warning, not an error (the next sweep retries it): the first few say why.
result.keepAliveWarnings = logs.filter((line) => line.startsWith('warn') && line.includes('keepAlive')).slice(0, 5);
// As the Functions worker stops: its appTerminate hook sends the telemetry still batched (with
// Application Insights configured), within its bound, and then the process exits, whatever
// requests are still open. After the measured work, so it counts in none of it.
await (modules.warmUp?.stopTelemetry ?? modules.flushTelemetry?.stopTelemetry)?.();
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
