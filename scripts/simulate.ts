/**
 * `npm run simulate`: try the bot without a tenant. Starts Azurite and the Graph simulator, then plays
 * call traffic at the app — incoming calls, meeting joins, a call to an on-call engineer who hears a
 * prompt and presses 1, throttled keepAlives, remote hang-ups,
 * calls that end silently (a keepAlive 404 cleans them up), a hang-up through the control route —
 * printing a timeline and a final table. Exits 1 if what the app tracks disagrees with what Graph
 * (the simulator) knows at the end.
 *
 *   npm run simulate                                   the app's handlers in this process (no func needed)
 *   npm run simulate -- --target http://localhost:7071 a running `func start` (see README: Try it without a tenant)
 *   options: --calls N (incoming calls, default 8), --meetings N (default 2), --sim-port P, --json
 *
 * The simulator signs its notifications with its own key and serves it as the OpenID/JWKS endpoint,
 * so the app's real notification authentication is exercised.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { azuriteConnectionString, startAzurite, type RunningAzurite } from '../tools/azurite.js';
import { GraphSimulator, incomingCallNotification, SIM_BOT_APP_ID, SIM_TENANT_ID, stateNotification } from '../tools/graphSimulator.js';
import { loopbackCertificate } from '../tools/loopbackCertificate.js';
import { inProcessApp, httpApp, type AppUnderTest } from './simulate/appUnderTest.js';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string' },
    calls: { type: 'string', default: '8' },
    meetings: { type: 'string', default: '2' },
    'sim-port': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

// The simulator's certificate lives here, so a func host started with it keeps trusting it.
const STATE_DIR = resolve(process.env['SIMULATE_STATE_DIR'] ?? '.simulator');
const CA_FILE = join(STATE_DIR, 'ca.pem');
const KEY_FILE = join(STATE_DIR, 'key.pem');
const DEFAULT_FUNC_SIM_PORT = 4443;

function count(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 500)
    throw new Error(`--${name} must be a whole number from 0 to 500, got "${text}"`);
  return value;
}

// Node reads NODE_EXTRA_CA_CERTS only at start-up, and the app in this process must trust the
// simulator's certificate: make the certificate, then run this script again with it trusted.
async function ensureTrusted(): Promise<{ cert: string; key: string } | undefined> {
  if (process.env['NODE_EXTRA_CA_CERTS'] === CA_FILE && existsSync(KEY_FILE)) {
    return { cert: await readFile(CA_FILE, 'utf8'), key: await readFile(KEY_FILE, 'utf8') };
  }
  // A func host started earlier trusts the certificate it was given: keep it while it lasts.
  if (!existsSync(CA_FILE) || !existsSync(KEY_FILE)) {
    const tls = await loopbackCertificate();
    await mkdir(STATE_DIR, { recursive: true });
    await writeFile(CA_FILE, tls.cert);
    await writeFile(KEY_FILE, tls.key, { mode: 0o600 });
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: CA_FILE },
    stdio: 'inherit',
  });
  process.exitCode = await new Promise<number>((done) => child.on('exit', (code) => done(code ?? 1)));
  return undefined;
}

const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });

/** For `func start`: Azurite on its default ports, as `UseDevelopmentStorage=true` expects; reused if already up. */
async function defaultPortAzurite(): Promise<{ stop: () => void; reused: boolean }> {
  if (await listening(10002)) return { stop: () => undefined, reused: true };
  const child = spawn(
    process.execPath,
    ['node_modules/azurite/dist/src/azurite.js', '--inMemoryPersistence', '--silent', '--disableTelemetry', '--skipApiVersionCheck'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && !(await listening(10002)); i++) await new Promise((r) => setTimeout(r, 100));
  return { stop: () => child.kill(), reused: false };
}

interface Totals {
  incomingCalls: number;
  answered: number;
  /** The call to the on-call engineer, as its history record tells it. */
  outgoingCall: { answered: boolean; tones: string[]; state: string | undefined };
  meetingsJoined: number;
  keepAlivesOk: number;
  throttled: number;
  endedByNotification: number;
  cleanedUpAfter404: number;
  hungUpByBot: number;
  stillActive: number;
  tracked: number;
  mismatches: string[];
}

async function main(): Promise<void> {
  const tls = await ensureTrusted();
  if (!tls) return;
  const incoming = count('calls', args.calls);
  const meetings = count('meetings', args.meetings);
  const started = performance.now();
  const say = (line: string) => {
    if (!args.json) console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s  ${line}`);
  };

  const simPort = args['sim-port'] ? Number(args['sim-port']) : args.target ? DEFAULT_FUNC_SIM_PORT : 0;
  const sim = await new GraphSimulator(tls).start(simPort);
  const storage: RunningAzurite[] = [];
  let stopDefaultAzurite = () => {};
  let app: AppUnderTest;
  if (args.target) {
    const azurite = await defaultPortAzurite();
    stopDefaultAzurite = azurite.stop;
    say(`Azurite ${azurite.reused ? 'already running' : 'started'} on 10000-10002; Graph simulator on ${sim.origin}`);
    say(`waiting for the app at ${args.target} (start it now: see README, "Try it without a tenant")`);
    app = await httpApp(args.target, sim);
  } else {
    storage.push(await startAzurite('table'), await startAzurite('queue'));
    say(`Azurite (table :${storage[0]!.port}, queue :${storage[1]!.port}) and the Graph simulator (${sim.origin}) started`);
    app = await inProcessApp({
      AzureWebJobsStorage: azuriteConnectionString(storage),
      CALLS_TABLE_NAME: `sim${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      BOT_APP_ID: SIM_BOT_APP_ID,
      BOT_TENANT_ID: SIM_TENANT_ID,
      BOT_APP_SECRET: 'simulator-secret',
      AZURE_AUTHORITY_HOST: sim.authorityHost,
      BOT_CALLBACK_URL: 'https://localhost:7071/api/calls',
      GRAPH_BASE_URL: sim.graphBaseUrl,
      NOTIFICATION_OPENID_CONFIG_URL: sim.openIdConfigUrl,
      // Every sweep sends keepAlives, so the traffic needs no 15-minute wait.
      KEEPALIVE_INTERVAL_MINUTES: '0',
    });
    say('the app runs in this process (its exported handlers, real Table and Graph clients)');
  }
  sim.onNotification = (body, authorization) => app.notify(body, authorization);

  try {
    const totals = await play(app, sim, incoming, meetings, say);
    if (args.json) {
      console.log(JSON.stringify(totals, null, 2));
    } else {
      console.log('');
      console.table(
        [
          ['incoming calls', totals.incomingCalls],
          ['answered', totals.answered],
          ['meetings joined', totals.meetingsJoined],
          ['on-call engineer answered, keys pressed', `${totals.outgoingCall.answered}, [${totals.outgoingCall.tones.join(', ')}]`],
          ['keepAlives answered 200', totals.keepAlivesOk],
          ['keepAlives throttled (429, retried)', totals.throttled],
          ['ended by a terminated notification', totals.endedByNotification],
          ['cleaned up after a keepAlive 404', totals.cleanedUpAfter404],
          ['hung up by the bot (DELETE /api/calls/{id})', totals.hungUpByBot],
          ['still active at Graph', totals.stillActive],
          ['tracked by the app', totals.tracked],
        ].map(([what, value]) => ({ what, value })),
      );
      for (const problem of totals.mismatches) console.error(`MISMATCH: ${problem}`);
    }
    if (totals.mismatches.length > 0) process.exitCode = 1;
  } finally {
    await app.close();
    await sim.stop();
    await Promise.all(storage.map((s) => s.stop()));
    stopDefaultAzurite();
  }
}

async function play(
  app: AppUnderTest,
  sim: GraphSimulator,
  incomingCount: number,
  meetingCount: number,
  say: (line: string) => void,
): Promise<Totals> {
  const short = (id: string) => id.slice(0, 8);
  const answered: string[] = [];

  say(`-- ${incomingCount} incoming calls ring the bot`);
  await Promise.all(
    Array.from({ length: incomingCount }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 150));
      const call = sim.placeIncomingCall();
      await sim.notify(incomingCallNotification(call.id));
      await until(() => sim.calls.get(call.id)!.state !== 'incoming', `call ${short(call.id)} to be answered`);
      say(`call ${short(call.id)}  incoming -> answered (POST /answer 202)`);
      await sim.notify(stateNotification(call.id, 'establishing'));
      sim.calls.get(call.id)!.state = 'established';
      await sim.notify(stateNotification(call.id, 'established'));
      say(`call ${short(call.id)}  established`);
      answered.push(call.id);
    }),
  );

  say(`-- the bot joins ${meetingCount} Teams meetings`);
  const joined: string[] = [];
  for (let i = 0; i < meetingCount; i++) {
    const joinUrl =
      i % 2 === 0
        ? `https://teams.microsoft.com/l/meetup-join/19%3ameeting_${randomUUID().replace(/-/g, '')}%40thread.v2/0?context=%7b%22Tid%22%3a%22${SIM_TENANT_ID}%22%2c%22Oid%22%3a%22${randomUUID()}%22%7d`
        : `https://teams.microsoft.com/meet/${String(1000000000 + i)}?p=Sim${i}Pass`;
    const { status, callId } = await app.join(joinUrl);
    if (status !== 201 || !callId) throw new Error(`join ${joinUrl} answered ${status}`);
    sim.calls.get(callId)!.state = 'established';
    await sim.notify(stateNotification(callId, 'established'));
    await sim.sendRoster(callId, 3);
    say(`meeting call ${short(callId)}  joined (POST /communications/calls 201), established, 4 in the roster`);
    joined.push(callId);
  }

  say('-- the bot calls the on-call engineer: a prompt, then "press 1 to acknowledge"');
  const engineer = randomUUID();
  const placed = await app.placeCall({
    targets: [{ userId: engineer, displayName: 'On-call engineer' }],
    prompt: 'https://cdn.example.test/incident-prompt.wav',
    collectTone: true,
    hangUpAfter: 'tone',
    clientContext: 'incident-1',
  });
  if (placed.status !== 201 || !placed.callId) throw new Error(`POST /api/calls/outgoing answered ${placed.status}`);
  const outgoingId = placed.callId;
  say(`call ${short(outgoingId)}  POST /api/calls/outgoing -> 201 (POST /communications/calls to user ${short(engineer)})`);
  await sim.answerOutgoing(outgoingId);
  await sim.idle();
  say(`call ${short(outgoingId)}  the engineer picks up; the bot subscribes to tones and plays the prompt (completed)`);
  await sim.pressKey(outgoingId, 'tone1');
  await sim.idle();
  const record = (await app.getCall(outgoingId)).body ?? {};
  const tones = (record['tones'] as string[] | undefined) ?? [];
  say(
    `call ${short(outgoingId)}  the engineer pressed 1; the bot hung up. GET /api/calls/{id}: ${String(record['state'])}, ` +
      `answered ${String(record['answered'])}, tones [${tones.join(', ')}], prompt ${String((record['prompt'] as { status?: string } | null)?.status)}`,
  );

  say('-- keepAlive sweep 1: Graph throttles the first 3 keepAlives (429, Retry-After: 1)');
  sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 1, times: 3, code: 'TooManyRequests' });
  say(`sweep: ${await app.sweep()}`);

  const [remoteEnd, silentEnd, botHangUp] = [answered[0], answered[1], joined[0] ?? answered[2]];
  say('-- calls end');
  const ended = { notification: 0, cleanedUp: 0, hungUp: 0 };
  if (remoteEnd) {
    await sim.terminate(remoteEnd, { code: 200, subcode: 5001, message: 'The remote party hung up' });
    ended.notification++;
    say(`call ${short(remoteEnd)}  the caller hung up: terminated notification (200/5001)`);
  }
  if (silentEnd) {
    sim.endCallSilently(silentEnd);
    say(`call ${short(silentEnd)}  ended at Graph with no notification reaching the bot`);
  }
  if (botHangUp) {
    const status = await app.hangUp(botHangUp);
    await sim.idle();
    ended.hungUp++;
    say(`call ${short(botHangUp)}  DELETE /api/calls/{id} -> ${status}; Graph confirms with a terminated notification (200/7000)`);
  }

  say('-- keepAlive sweep 2: the silently ended call answers 404 and is cleaned up');
  const before404 = sim.requests.filter((r) => r.path.endsWith('/keepAlive') && r.status === 404).length;
  say(`sweep: ${await app.sweep()}`);
  ended.cleanedUp = sim.requests.filter((r) => r.path.endsWith('/keepAlive') && r.status === 404).length - before404;

  const tracked = await app.trackedCallIds();
  const liveAtGraph = [...sim.calls.values()].filter((c) => c.state !== 'terminated').map((c) => c.id);
  const mismatches = [
    ...liveAtGraph.filter((id) => !tracked.includes(id)).map((id) => `call ${id} is live at Graph but not tracked`),
    ...tracked.filter((id) => !liveAtGraph.includes(id)).map((id) => `call ${id} is tracked but ended at Graph`),
  ];
  const health = await app.health();
  say(`GET /api/health -> ${health.status} ${health.summary}`);
  return {
    incomingCalls: incomingCount,
    answered: answered.length,
    meetingsJoined: joined.length,
    outgoingCall: { answered: record['answered'] === true, tones, state: record['state'] as string | undefined },
    keepAlivesOk: sim.requests.filter((r) => r.path.endsWith('/keepAlive') && r.status === 200).length,
    throttled: sim.requests.filter((r) => r.path.endsWith('/keepAlive') && r.status === 429).length,
    endedByNotification: ended.notification,
    cleanedUpAfter404: ended.cleanedUp,
    hungUpByBot: ended.hungUp,
    stillActive: liveAtGraph.length,
    tracked: tracked.length,
    mismatches,
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

await main();
