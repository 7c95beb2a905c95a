import type { TokenCredential } from '@azure/identity';
import { JwtNotificationAuthenticator, type NotificationAuthenticator } from './auth/notificationAuth.js';
import { ActiveCallCounter } from './calls/activeCallCount.js';
import type { CallStore } from './calls/callStore.js';
import { TableCallStore } from './calls/tableCallStore.js';
import { JOIN_LEDGER_TABLE_SUFFIX, loadConfig, SWEEP_STATUS_TABLE_SUFFIX, type AppConfig } from './config.js';
import { createGraphClient, createGraphCredential } from './graph/graphClient.js';
import { GraphClientCalls, type GraphCalls } from './graph/graphCalls.js';
import { StorageShardQueue, type ShardQueue } from './keepAlive/shardQueue.js';
import type { SweepStatusStore } from './keepAlive/sweepStatus.js';
import { TableSweepStatusStore } from './keepAlive/tableSweepStatusStore.js';
import { createManagedIdentityCredential } from './managedIdentity.js';
import type { JoinLedger } from './meetings/joinLedger.js';
import type { JoinDeps } from './meetings/joinMeeting.js';
import { StorageRejoinQueue, type RejoinQueue } from './meetings/rejoinQueue.js';
import { TableJoinLedger } from './meetings/tableJoinLedger.js';
import type { Logger } from './logger.js';

/** The per-process parts every function shares. Built on first use, so loading a function file does no I/O. */
export interface Runtime {
  config: AppConfig;
  store: CallStore;
  graph: GraphCalls;
  authenticator: NotificationAuthenticator;
  shardQueue: ShardQueue;
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
}

export function createRuntime(config: AppConfig, parts: Partial<Omit<Runtime, 'config'>> = {}): Runtime {
  let identity: TokenCredential | undefined;
  const managedIdentity = parts.managedIdentity ?? (() => (identity ??= createManagedIdentityCredential(config.managedIdentityClientId)));
  const store = parts.store ?? TableCallStore.open(config.callsTable.access, config.callsTable.tableName, managedIdentity);
  let credential: TokenCredential | undefined;
  const graphCredential = parts.graphCredential ?? (() => (credential ??= createGraphCredential(config.bot, managedIdentity)));
  return {
    config,
    store,
    graph: parts.graph ?? new GraphClientCalls(createGraphClient(config.graphBaseUrl, graphCredential())),
    authenticator:
      parts.authenticator ??
      new JwtNotificationAuthenticator({ openIdConfigUrl: config.notificationOpenIdConfigUrl, audience: config.bot.appId }),
    shardQueue: parts.shardQueue ?? new StorageShardQueue(config.hostQueue, managedIdentity),
    sweepStatus:
      parts.sweepStatus ??
      TableSweepStatusStore.open(config.callsTable.access, `${config.callsTable.tableName}${SWEEP_STATUS_TABLE_SUFFIX}`, managedIdentity),
    clock: parts.clock ?? (() => new Date()),
    activeCalls: parts.activeCalls ?? new ActiveCallCounter(store, config.incomingCalls.activeCallsCacheSeconds * 1000),
    joinLedger:
      parts.joinLedger ??
      TableJoinLedger.open(config.callsTable.access, `${config.callsTable.tableName}${JOIN_LEDGER_TABLE_SUFFIX}`, managedIdentity),
    rejoinQueue: parts.rejoinQueue ?? new StorageRejoinQueue(config.hostQueue, managedIdentity),
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
  const { store, graph, joinLedger, rejoinQueue, clock, config } = runtime;
  return {
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
