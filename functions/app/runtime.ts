import type { TokenCredential } from '@azure/identity';
import { startTelemetry } from './telemetry.js';
import { JwtNotificationAuthenticator, type NotificationAuthenticator } from '../../shared/auth/notificationAuth.js';
import { ActiveCallCounter } from '../../shared/calls/activeCallCount.js';
import type { CallStore } from '../../shared/calls/callStore.js';
import { TableCallStore } from '../../shared/calls/tableCallStore.js';
import {
  CALL_HISTORY_TABLE_SUFFIX,
  JOIN_LEDGER_TABLE_SUFFIX,
  loadConfig,
  SWEEP_STATUS_TABLE_SUFFIX,
  type AppConfig,
} from '../../shared/config.js';
import { CachedTokenCredential } from '../../shared/graph/cachedTokenCredential.js';
import { createGraphClient, createGraphCredential } from '../../shared/graph/graphClient.js';
import { GraphClientCalls, type GraphCalls } from '../../shared/graph/graphCalls.js';
import type { ShardQueue } from '../../shared/keepAlive/shardQueue.js';
import type { SweepStatusStore } from '../../shared/keepAlive/sweepStatus.js';
import { TableSweepStatusStore } from '../../shared/keepAlive/tableSweepStatusStore.js';
import { createManagedIdentityCredential } from '../../shared/managedIdentity.js';
import type { JoinLedger } from '../../shared/meetings/joinLedger.js';
import type { JoinDeps } from '../../shared/meetings/joinMeeting.js';
import { StorageRejoinQueue, type RejoinQueue } from '../../shared/meetings/rejoinQueue.js';
import { TableJoinLedger } from '../../shared/meetings/tableJoinLedger.js';
import type { CallHistory } from '../../shared/history/callHistory.js';
import { TableCallHistory } from '../../shared/history/tableCallHistory.js';
import type { Logger } from '../../shared/logger.js';
import type { NotificationDeps } from '../../shared/notifications/handleNotifications.js';
import type { FanOutDeps } from '../../shared/keepAlive/sweepFanOut.js';
import { sweepDeadline } from '../../shared/keepAlive/sweepBudget.js';

// Before any function runs (the worker awaits this module's load): telemetry, when configured.
await startTelemetry();

/**
 * The composition root: the one place that reads the settings, builds the adapters (Table Storage,
 * Graph, the queues, the authenticator) and hands each domain operation the parts it needs. The
 * domain (`shared/`) never imports it; lint keeps it so.
 *
 * The per-process parts every function shares. Built on first use, so loading a function file does no I/O.
 */
export interface Runtime {
  config: AppConfig;
  store: CallStore;
  graph: GraphCalls;
  authenticator: NotificationAuthenticator;
  /** Each sweep's outcome, for the health check. */
  sweepStatus: SweepStatusStore;
  clock: () => Date;
  /** The active-call count behind MAX_ACTIVE_CALLS, cached per process. */
  activeCalls: ActiveCallCounter;
  /** Joins asked of Graph and not yet tracked, so a call whose create answer was lost is adopted. */
  joinLedger: JoinLedger;
  /** Rejoin attempts, each a queue message that waits out its backoff. */
  rejoinQueue: RejoinQueue;
  /** The app's managed identity, for storage reached by endpoint (and Graph without a secret); made on first use. */
  managedIdentity: () => TokenCredential;
  /** The credential the Graph client gets its token from; the start-up warm-up fetches one ahead. */
  graphCredential: () => TokenCredential;
  /** Ended calls, kept CALL_HISTORY_DAYS. */
  history: CallHistory;
}

export function createRuntime(config: AppConfig, parts: Partial<Omit<Runtime, 'config'>> = {}): Runtime {
  let identity: TokenCredential | undefined;
  const managedIdentity = parts.managedIdentity ?? (() => (identity ??= createManagedIdentityCredential(config.managedIdentityClientId)));
  const store = parts.store ?? TableCallStore.open(config.callsTable.access, config.callsTable.tableName, managedIdentity);
  let credential: TokenCredential | undefined;
  // One caching credential for the Graph client and the start-up warm-up: a first request that
  // arrives while the warm-up's token request is under way joins it instead of sending another.
  const graphCredential =
    parts.graphCredential ?? (() => (credential ??= new CachedTokenCredential(createGraphCredential(config.bot, managedIdentity))));
  return {
    config,
    store,
    graph: parts.graph ?? new GraphClientCalls(createGraphClient(config.graphBaseUrl, graphCredential())),
    authenticator:
      parts.authenticator ??
      new JwtNotificationAuthenticator({ openIdConfigUrl: config.notificationOpenIdConfigUrl, audience: config.bot.appId }),
    sweepStatus:
      parts.sweepStatus ??
      TableSweepStatusStore.open(config.callsTable.access, `${config.callsTable.tableName}${SWEEP_STATUS_TABLE_SUFFIX}`, managedIdentity),
    clock: parts.clock ?? (() => new Date()),
    activeCalls: parts.activeCalls ?? new ActiveCallCounter(store, config.incomingCalls.activeCallsCacheSeconds * 1000),
    joinLedger:
      parts.joinLedger ??
      TableJoinLedger.open(config.callsTable.access, `${config.callsTable.tableName}${JOIN_LEDGER_TABLE_SUFFIX}`, managedIdentity),
    rejoinQueue: parts.rejoinQueue ?? new StorageRejoinQueue(config.hostQueue, managedIdentity),
    history:
      parts.history ??
      TableCallHistory.open(config.callsTable.access, `${config.callsTable.tableName}${CALL_HISTORY_TABLE_SUFFIX}`, managedIdentity),
    managedIdentity,
    graphCredential,
  };
}

let processRuntime: Runtime | undefined;

/** The runtime built from the app settings. A bad setting throws here, naming it, on every call until fixed. */
export function appRuntime(): Runtime {
  processRuntime ??= createRuntime(loadConfig());
  return processRuntime;
}

/** What joining (and rejoining) a meeting needs, from the runtime. */
export function joinDepsOf(runtime: Runtime, log: Logger): JoinDeps {
  const { store, graph, joinLedger, rejoinQueue, clock, config, history } = runtime;
  return {
    history,
    store,
    graph,
    joinLedger,
    rejoinQueue,
    clock,
    log,
    callbackUrl: config.bot.callbackUrl,
    rejoin: { attempts: config.meetings.rejoinAttempts, backoffSeconds: config.meetings.rejoinBackoffSeconds },
  };
}

/** The notification handler's parts, for one delivery that arrived at `arrivedAt`. */
export function notificationDeps(runtime: Runtime, log: Logger, arrivedAt: number = Date.now()): NotificationDeps {
  const { config, activeCalls } = runtime;
  return {
    ...joinDepsOf(runtime, log),
    botAppId: config.bot.appId,
    policy: config.incomingCalls,
    activeCalls,
    arrivedAt,
    welcomePromptUrl: config.welcomePromptUrl,
  };
}

/**
 * What a sweep (the timer's or a shard's) needs, with a time budget counted from now. `queue` is
 * where a fan-out's shard messages go (the timer's output binding); a shard sweep enqueues nothing.
 */
export function fanOutDepsOf(
  { store, graph, clock, sweepStatus, config, history }: Runtime,
  log: Logger,
  queue: ShardQueue = NO_SHARD_QUEUE,
): FanOutDeps {
  return {
    store,
    graph,
    clock,
    log,
    history,
    queue,
    sweepStatus,
    intervalMinutes: config.keepAlive.intervalMinutes,
    maxInFlight: config.keepAlive.maxInFlight,
    leaveWhenAloneMinutes: config.meetings.leaveWhenAloneMinutes,
    toneTimeoutSeconds: config.outgoingCalls.toneTimeoutSeconds,
    fanOutThreshold: config.keepAlive.fanOutThreshold,
    sweepBudgetMs: config.keepAlive.sweepBudgetSeconds * 1000,
    // Built once per invocation, so the budget counts from its start (the count before an inline sweep included).
    deadline: sweepDeadline(config.keepAlive.sweepBudgetSeconds * 1000),
  };
}

const NO_SHARD_QUEUE: ShardQueue = {
  enqueue: () => Promise.reject(new Error('only the timer hands a sweep out; a shard sweep has no shard queue')),
};
