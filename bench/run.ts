/**
 * `npm run bench`: measures the keepAlive sweep and the answer path against Azurite and the
 * Graph simulator, through the app's built entry files. Prints figures; asserts nothing.
 *
 *   npm run bench -- --calls 10000,100000 --latency 50 --in-flight 128 --burst 500 --cold-starts 5 [--fan-out-instances 4] [--json] [--profile DIR]
 *
 * `--in-flight` is KEEPALIVE_MAX_IN_FLIGHT, the ceiling of the sweep's self-sizing in-flight count.
 * `--fan-out-instances N` lets the timer decide as in Azure (fan-out on, from a fresh table: no
 * sweep figures yet) and sweeps the shard messages of a fan-out in N worker processes, each taking
 * its messages one at a time as one instance of the queue trigger does; without it, one instance
 * sweeps everything (fan-out off).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { TableCallStore } from '../shared/calls/tableCallStore.js';
import { azuriteConnectionString, startAzurite, type RunningAzurite } from '../tools/azurite.js';
import { GraphSimulator, incomingCallNotification, SIM_BOT_APP_ID, SIM_TENANT_ID } from '../tools/graphSimulator.js';
import { loopbackCertificate } from '../tools/loopbackCertificate.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '10000' },
    latency: { type: 'string', default: '50' },
    'in-flight': { type: 'string', default: '128' },
    burst: { type: 'string', default: '500' },
    /** Cold starts per build (the bundle and tsc's files, alternating); 0 skips them. */
    'cold-starts': { type: 'string', default: '5' },
    'fan-out-instances': { type: 'string', default: '0' },
    /** Node flags for the measured worker processes, as the app setting languageWorkers__node__arguments gives the host's worker. */
    'worker-node-args': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
    /**
     * A checkout built with tsc (e.g. a worktree of the commit an issue was filed at, after
     * `npx tsc -p tsconfig.build.json` there, into an empty dist/): its entry files are timed as a
     * third build. It needs functions/warmUp.js with an appStart warm-up (every build since bd50918).
     */
    'before-build': { type: 'string' },
    /**
     * A checkout built with `npm run build` (e.g. a worktree of an earlier commit, with
     * node_modules linked in): its dist/main.js is timed as a third build, for a change to the
     * bundle measured against the bundle before it in one run.
     */
    'before-bundle': { type: 'string' },
    /** Write a CPU profile of each measured worker to this folder (open it in Chrome DevTools). */
    profile: { type: 'string' },
    /**
     * `shared`: every notification of a burst carries one token, as from a sender that keeps its
     * token until it nears expiry; `unique`: each carries a token of its own (Graph's docs do not
     * say which Graph does), so each is verified.
     */
    'burst-tokens': { type: 'string', default: 'shared' },
    /**
     * Cold starts with Application Insights configured, as infra/ deploys the app: Azure Monitor's
     * OpenTelemetry distribution loads before the first answer. Its telemetry goes to the
     * simulator on loopback (`GraphSimulator.appInsightsSettings`).
     */
    'app-insights': { type: 'boolean', default: false },
  },
});
const sizes = args.calls.split(',').map(positiveInteger);
const latencyMs = positiveInteger(args.latency);
const inFlight = positiveInteger(args['in-flight']);
const burstSize = Number(args.burst);
const coldStarts = Number(args['cold-starts']);
const fanOutInstances = Number(args['fan-out-instances']);
const burstTokens = args['burst-tokens'];
if (args['before-build'] && args['before-bundle'])
  throw new Error('--before-build and --before-bundle each name the third build: give one');
const olderDir = args['before-build'] ?? args['before-bundle'];
if (burstTokens !== 'shared' && burstTokens !== 'unique') throw new Error(`--burst-tokens is shared or unique, got "${burstTokens}"`);

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`expected a positive whole number, got "${text}"`);
  return value;
}

/** A pass-through in front of Azurite that counts the Table requests the app makes. */
async function countingProxy(
  target: RunningAzurite,
): Promise<{ port: number; count: () => number; reset: () => void; close: () => Promise<void> }> {
  let count = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server: Server = createServer((req, res) => {
    count++;
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', (error) => res.writeHead(502).end(String(error)));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    count: () => count,
    reset: () => (count = 0),
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

interface WorkerResult {
  moduleLoadMs: number;
  cpuMs: number;
  connectsDuringLoad: number;
  wallMs: number;
  peakRssMb: number;
  peakHeapMb: number;
  errors: string[];
  keepAliveWarnings?: string[];
  shardMessages?: unknown[];
  shards?: Array<{ shard: string; summary: NonNullable<NonNullable<WorkerResult['sweep']>['summary']> }>;
  sweep?: {
    mode: string;
    reason?: string;
    summary?: {
      active: number;
      sent: number;
      ok: number;
      failed: number;
      ended?: number;
      unreadable?: number;
      skippedForBudget: number;
      budgetExhausted: boolean;
      peakInFlight?: number;
      meanInFlight?: number;
      meanLatencyMs?: number;
    };
  };
  receivedAt?: Record<string, number>;
  statuses?: Record<string, number>;
  /** When the worker process started (epoch ms). */
  processStartedAt: number;
  callId?: string;
  status?: number;
  /** coldStart: the process's CPU (user + system, ms) from its start to the answer. */
  processCpuMs?: number;
}

function runWorker(mode: 'sweep' | 'shards' | 'burst' | 'coldStart', env: Record<string, string>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const profiling = args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [];
    const nodeArgs = args['worker-node-args'].split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, ...profiling, join(import.meta.dirname, 'worker.mjs'), mode], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`worker ${mode} exited with ${code}\n${out}`));
      resolve(JSON.parse(last) as WorkerResult);
    });
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc; undefined where there is none. */
async function processCpuMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** The machine's CPU time so far over all its cores, busy and in all (clock ticks, /proc/stat); undefined where there is none. */
async function machineCpu(): Promise<{ busy: number; total: number } | undefined> {
  try {
    const ticks = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, t) => sum + t, 0);
    // idle and iowait are the fourth and fifth fields of the cpu line (proc(5)).
    return { busy: total - ticks[3]! - ticks[4]!, total };
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const COLD_START_PAUSE_MS = 250;
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const tls = await loopbackCertificate();
  const dir = await mkdtemp(join(tmpdir(), 'calling-bot-bench-'));
  const caFile = join(dir, 'simulator-ca.pem');
  await writeFile(caFile, tls.cert);
  const table = await startAzurite('table');
  const queue = await startAzurite('queue');
  const proxy = await countingProxy(table);
  const sim = await new GraphSimulator(tls).start();
  sim.latencyMs = latencyMs;
  const direct = azuriteConnectionString([table, queue]);
  const counted = azuriteConnectionString([{ ...table, port: proxy.port }, queue]);

  const settingsFor = (tableName: string): Record<string, string> => ({
    NODE_EXTRA_CA_CERTS: caFile,
    AzureWebJobsStorage: counted,
    CALLS_TABLE_NAME: tableName,
    BOT_APP_ID: SIM_BOT_APP_ID,
    BOT_TENANT_ID: SIM_TENANT_ID,
    BOT_APP_SECRET: 'simulator-secret',
    AZURE_AUTHORITY_HOST: sim.authorityHost,
    BOT_CALLBACK_URL: 'https://bot.example.test/api/calls',
    GRAPH_BASE_URL: sim.graphBaseUrl,
    NOTIFICATION_OPENID_CONFIG_URL: sim.openIdConfigUrl,
    KEEPALIVE_INTERVAL_MINUTES: '15',
    KEEPALIVE_MAX_IN_FLIGHT: String(inFlight),
    // Without --fan-out-instances one instance sweeps everything: this measures the sweep itself.
    ...(fanOutInstances > 0 ? {} : { SWEEP_FANOUT: 'off' }),
  });

  const sweepRows = [];
  const fanOutRows: Array<Record<string, unknown>> = [];

  /** The timer's decision, then its shard messages over `fanOutInstances` processes; timed from the timer's start to the last shard's end. */
  const fanOutSweep = async (calls: number, settings: Record<string, string>) => {
    const started = performance.now();
    const tableCpuBefore = await processCpuMs(table.pid);
    const parentCpuBefore = process.cpuUsage();
    const machineBefore = await machineCpu();
    const timerRun = await runWorker('sweep', settings);
    const messages = timerRun.shardMessages ?? [];
    const perInstance = Array.from({ length: fanOutInstances }, (_, i) => messages.filter((_, m) => m % fanOutInstances === i));
    const instances = await Promise.all(
      perInstance.filter((list) => list.length > 0).map((list) => runWorker('shards', { ...settings, BENCH_SHARDS: JSON.stringify(list) })),
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    const tableCpuAfter = await processCpuMs(table.pid);
    const parentCpu = process.cpuUsage(parentCpuBefore);
    const machineAfter = await machineCpu();
    const summaries = [
      ...(timerRun.sweep?.summary ? [timerRun.sweep.summary] : []),
      ...instances.flatMap((w) => w.shards!.map((r) => r.summary)),
    ];
    const keptAlive = summaries.reduce((sum, r) => sum + r.ok, 0);
    if (keptAlive !== calls) {
      const total = (field: 'failed' | 'skippedForBudget' | 'unreadable' | 'ended') =>
        summaries.reduce((sum, r) => sum + (r[field] ?? 0), 0);
      const errors = [timerRun, ...instances].flatMap((w) => [...(w.errors ?? []), ...(w.keepAliveWarnings ?? [])]).slice(0, 10);
      throw new Error(
        `fanned-out sweep of ${calls} calls kept ${keptAlive} alive (failed ${total('failed')}, skipped for budget ${total('skippedForBudget')}, ` +
          `unreadable ${total('unreadable')}, ended ${total('ended')}): ${JSON.stringify(timerRun.sweep)}\nfirst errors:\n${errors.join('\n')}`,
      );
    }
    return {
      calls,
      timer: timerRun.sweep?.mode,
      why: timerRun.sweep?.reason ?? '-',
      shardMessages: messages.length,
      instances: instances.length,
      keptAlive,
      elapsedSeconds: round(elapsedSeconds, 1),
      budgetSeconds: 180,
      keepAlivesPerSecond: round(keptAlive / elapsedSeconds, 0),
      peakInFlightAtGraph: sim.peakInFlight,
      tableRequestsPerKeepAlive: round(proxy.count() / keptAlive, 4),
      peakRssMbPerInstance: round(Math.max(...instances.map((w) => w.peakRssMb), timerRun.peakRssMb), 0),
      // Where the machine's CPU went: the instances' sweeping, and Azurite's Table service, which
      // writes every call's result and shares this machine's cores (in Azure it is a service).
      appCpuSeconds: round([timerRun, ...instances].reduce((sum, w) => sum + w.cpuMs, 0) / 1000, 1),
      azuriteCpuSeconds:
        tableCpuBefore === undefined || tableCpuAfter === undefined ? '-' : round((tableCpuAfter - tableCpuBefore) / 1000, 1),
      // This process: the Graph simulator, the proxy that counts Table requests, the bench itself.
      simulatorCpuSeconds: round((parentCpu.user + parentCpu.system) / 1e6, 1),
      // How busy all the machine's cores were meanwhile (1 = every core, all the time).
      machineBusyShare:
        machineBefore && machineAfter
          ? round((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total), 2)
          : '-',
    };
  };

  try {
    for (const calls of sizes) {
      const tableName = `bench${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const store = TableCallStore.fromConnectionString(direct, tableName);
      const seedStart = performance.now();
      const createdAt = new Date(Date.now() - 20 * 60_000); // all due: started 20 minutes ago
      const limit = pLimit(64);
      await Promise.all(
        Array.from({ length: calls }, () =>
          limit(async () => {
            const call = sim.placeIncomingCall();
            call.state = 'established';
            await store.insert({
              callId: call.id,
              state: 'established',
              direction: 'incoming',
              tenantId: SIM_TENANT_ID,
              createdAt,
              keepAliveFailures: 0,
            });
          }),
        ),
      );
      const seedSeconds = (performance.now() - seedStart) / 1000;

      proxy.reset();
      sim.peakInFlight = 0;
      if (fanOutInstances > 0) {
        fanOutRows.push(await fanOutSweep(calls, settingsFor(tableName)));
        sim.calls.clear();
        sim.requests.length = 0;
        continue;
      }
      const worker = await runWorker('sweep', settingsFor(tableName));
      const summary = worker.sweep?.summary;
      // A sweep stops at its time budget (shared/keepAlive/sweepBudget.ts); the rest is the next
      // sweep's (in Azure, a table this large is fanned out over instances long before).
      const cutByBudget = summary !== undefined && (summary.budgetExhausted || summary.skippedForBudget > 0);
      if (!summary || (summary.ok !== calls && !cutByBudget)) {
        throw new Error(`sweep of ${calls} calls did not keep them all alive: ${JSON.stringify(worker)}`);
      }
      const keptAlive = summary.ok;
      const wallSeconds = worker.wallMs / 1000;
      // The sweep sizes its own in-flight count (up to the ceiling): the bound is what the count it
      // reached allows, one keepAlive per latency per slot.
      const bound = sim.peakInFlight / (latencyMs / 1000);
      const rate = keptAlive / wallSeconds;
      sweepRows.push({
        calls,
        keptAlive,
        cutByBudget,
        seedSeconds: round(seedSeconds),
        wallSeconds: round(wallSeconds, 2),
        keepAlivesPerSecond: round(rate, 0),
        inFlightCeiling: inFlight,
        boundPerSecond: round(bound, 0),
        ratioToBound: round(rate / bound, 2),
        // The timer's sweep paces its count to its calls, so it changes during the sweep: the count
        // it allowed, averaged over the sweep, bounds it as the peak bounds a fixed count.
        meanInFlightAllowed: summary.meanInFlight,
        ratioToMeanBound: summary.meanInFlight ? round(rate / (summary.meanInFlight / (latencyMs / 1000)), 2) : '-',
        sequentialSeconds: round((keptAlive * latencyMs) / 1000, 0),
        speedupOverSequential: round((keptAlive * latencyMs) / 1000 / wallSeconds, 1),
        peakInFlight: sim.peakInFlight,
        // Graph's round trip as the sweep saw it: above --latency, the time went to this machine's CPU.
        meanLatencyMs: summary.meanLatencyMs,
        tableRequests: proxy.count(),
        tableRequestsPerKeepAlive: round(proxy.count() / keptAlive, 4),
        // The sweeping process's CPU (user + system): what a keepAlive costs the app, whatever the pace.
        appCpuSeconds: round(worker.cpuMs / 1000, 1),
        peakRssMb: round(worker.peakRssMb, 0),
        peakHeapMb: round(worker.peakHeapMb, 0),
        moduleLoadMs: round(worker.moduleLoadMs, 0),
        connectsDuringLoad: worker.connectsDuringLoad,
      });
      sim.calls.clear();
      sim.requests.length = 0;
    }

    const bursts: Array<Record<string, number | string>> = [];
    for (const instance of burstSize > 0 ? (['cold', 'warm'] as const) : []) {
      const tableName = `burst${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      // The warm run answers one extra call first, which is not counted.
      const count = instance === 'warm' ? burstSize + 1 : burstSize;
      const notifications = await Promise.all(
        Array.from({ length: count }, async () => {
          const call = sim.placeIncomingCall();
          // A jti of its own: tokens signed in the same second with the same claims are the same string.
          const token = burstTokens === 'unique' ? await sim.notificationToken({ jti: randomUUID() }) : undefined;
          return { callId: call.id, body: incomingCallNotification(call.id), token };
        }),
      );
      const burstFile = join(dir, 'burst.json');
      await writeFile(burstFile, JSON.stringify({ notifications, token: await sim.notificationToken() }));
      const tableCpuBefore = await processCpuMs(table.pid);
      const parentCpuBefore = process.cpuUsage();
      const worker = await runWorker('burst', {
        ...settingsFor(tableName),
        BENCH_BURST_FILE: burstFile,
        BENCH_WARM: instance === 'warm' ? '1' : '0',
      });
      const parentCpu = process.cpuUsage(parentCpuBefore);
      const tableCpuAfter = await processCpuMs(table.pid);
      const answeredAt = new Map<string, number>();
      for (const r of sim.requests) {
        const match = /\/communications\/calls\/([^/]+)\/answer$/.exec(r.path);
        if (match && r.status === 202) answeredAt.set(match[1]!, r.receivedAt);
      }
      const latencies = Object.entries(worker.receivedAt!)
        .map(([callId, receivedAt]) => (answeredAt.get(callId) ?? NaN) - receivedAt)
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      bursts.push({
        instance,
        notifications: Object.keys(worker.receivedAt!).length,
        answered: latencies.length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: latencies.at(-1)!,
        wallSeconds: round(worker.wallMs / 1000, 2),
        // Where this machine's CPU went meanwhile: the app, the simulator (this process, with the
        // worker's start-up), and Azurite's Table service (the counting proxy runs in this process too).
        appCpuMs: round(worker.cpuMs, 0),
        simulatorCpuMs: round((parentCpu.user + parentCpu.system) / 1000, 0),
        azuriteCpuMs: tableCpuBefore === undefined || tableCpuAfter === undefined ? '-' : round(tableCpuAfter - tableCpuBefore, 0),
        peakRssMb: round(worker.peakRssMb, 0),
      });
      if (worker.errors.length > 0) console.error(worker.errors.join('\n'));
      sim.requests.length = 0;
    }

    // Cold start: from the worker process's start to its first answer reaching the simulator, with
    // nothing cached (signing keys, Graph token, table). Today's build and the bundle alternate, so
    // both meet the same machine load.
    type Build = 'files' | 'bundle' | 'older';
    const builds: Build[] = olderDir ? ['files', 'bundle', 'older'] : ['files', 'bundle'];
    const coldRuns: Record<Build, { coldStartMs: number; moduleLoadMs: number; cpuMs: number }[]> = { files: [], bundle: [], older: [] };
    for (let run = 0; run < coldStarts; run++) {
      // Each round starts with the next build, so over a number of rounds that the builds divide,
      // each takes each place in the order as often: the run after tsc's files (a second of work
      // for this machine) or after another start.
      for (const entry of [...builds.slice(run % builds.length), ...builds.slice(0, run % builds.length)]) {
        // A pause, so the previous worker's exit and the simulator's work on it are over.
        await new Promise((resolve) => setTimeout(resolve, COLD_START_PAUSE_MS));
        const call = sim.placeIncomingCall();
        const coldFile = join(dir, 'cold.json');
        await writeFile(
          coldFile,
          JSON.stringify({
            notifications: [{ callId: call.id, body: incomingCallNotification(call.id) }],
            token: await sim.notificationToken(),
          }),
        );
        const worker = await runWorker('coldStart', {
          ...settingsFor(`cold${randomUUID().replace(/-/g, '').slice(0, 12)}`),
          BENCH_BURST_FILE: coldFile,
          ...(args['app-insights'] && sim.appInsightsSettings()),
          BENCH_ENTRY: entry === 'bundle' || (entry === 'older' && args['before-bundle']) ? 'bundle' : 'files',
          ...(entry === 'older' && { BENCH_DIST: resolvePath(olderDir!, 'dist') }),
        });
        const answer = sim.requests.find((r) => r.path.endsWith(`/calls/${call.id}/answer`) && r.status === 202);
        if (!answer) throw new Error(`cold start (${entry}): call ${call.id} was not answered: ${JSON.stringify(worker)}`);
        coldRuns[entry].push({
          coldStartMs: answer.receivedAt - worker.processStartedAt,
          moduleLoadMs: worker.moduleLoadMs,
          cpuMs: worker.processCpuMs!,
        });
        sim.requests.length = 0;
      }
    }
    const buildNames: Record<Build, string> = {
      files: 'tsc output of this tree, one module per file (before)',
      bundle: 'dist/main.js bundle (now)',
      older: args['before-bundle'] ? `dist/main.js of ${args['before-bundle']}` : `tsc output of ${args['before-build']}`,
    };
    const coldStartRows = builds
      .filter(() => coldStarts > 0)
      .map((entry) => {
        const starts = coldRuns[entry].map((r) => r.coldStartMs).sort((a, b) => a - b);
        const loads = coldRuns[entry].map((r) => r.moduleLoadMs).sort((a, b) => a - b);
        const cpu = coldRuns[entry].map((r) => r.cpuMs).sort((a, b) => a - b);
        return {
          build: buildNames[entry],
          runs: starts.length,
          coldStartMedianMs: round(percentile(starts, 50), 0),
          coldStartMinMs: round(starts[0]!, 0),
          coldStartMaxMs: round(starts.at(-1)!, 0),
          moduleLoadMedianMs: round(percentile(loads, 50), 0),
          cpuMedianMs: round(percentile(cpu, 50), 0),
        };
      });
    const coldStartRatio =
      coldStartRows.length >= 2 ? round(coldStartRows[1]!.coldStartMedianMs / coldStartRows[0]!.coldStartMedianMs, 3) : undefined;
    const coldStartRatioToOlder =
      coldStartRows.length === 3 ? round(coldStartRows[1]!.coldStartMedianMs / coldStartRows[2]!.coldStartMedianMs, 3) : undefined;

    const machine = { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version };
    const report = {
      machine,
      latencyMs,
      inFlight,
      sweep: sweepRows,
      fanOut: fanOutRows,
      burst: bursts,
      coldStart: coldStartRows,
      coldStartRatio,
      coldStartRatioToOlder,
    };
    if (args.json) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      console.log(
        `machine: ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}; Graph latency ${latencyMs} ms, in flight ${inFlight}`,
      );
      if (sweepRows.length > 0) {
        console.log('\nkeepAlive sweep (one timer run through dist/main.js, the bundle the host loads; fan-out off)');
        console.table(sweepRows);
      }
      if (fanOutRows.length > 0) {
        console.log(
          `\nkeepAlive sweep with fan-out on: the timer decides, then ${fanOutInstances} worker processes (instances) take the shard messages one at a time`,
        );
        console.table(fanOutRows);
      }
      if (bursts.length > 0) {
        console.log(
          `\nburst of ${burstSize} simultaneous incoming calls, ${burstTokens === 'unique' ? 'a token each' : 'one token for all'} (receipt -> answer at the simulator)`,
        );
        console.table(bursts);
      }
      if (coldStartRows.length > 0) {
        console.log(
          '\ncold start: process start -> first answer at the simulator (keys, token and table not cached; the appStart hook runs first, as the worker runs it)',
        );
        console.table(coldStartRows);
        console.log(`bundle / before (medians): ${coldStartRatio}`);
        if (coldStartRatioToOlder !== undefined) console.log(`bundle / ${olderDir} (medians): ${coldStartRatioToOlder}`);
      }
    }
  } finally {
    await sim.stop();
    await proxy.close();
    await Promise.all([table.stop(), queue.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
