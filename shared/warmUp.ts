import type { TokenCredential } from '@azure/identity';
import type { NotificationAuthenticator } from './auth/notificationAuth.js';
import type { CallStore } from './calls/callStore.js';
import { untilAborted } from './deadline.js';
import { GRAPH_SCOPE } from './graph/graphClient.js';
import type { Logger } from './logger.js';

export interface WarmUpDeps {
  authenticator: Pick<NotificationAuthenticator, 'preload'>;
  graphCredential: () => TokenCredential;
  callStore: Pick<CallStore, 'prepare'>;
  log: Logger;
  /** The warm-up stops waiting after this (the requests under way go on, for the first calls that join them). */
  timeoutMs?: number;
}

export interface WarmUpResult {
  signingKeys: 'loaded' | 'failed';
  graphToken: 'ready' | 'failed';
  callsTable: 'ready' | 'failed';
}

const WARM_UP_TIMEOUT_MS = 10_000;

/**
 * Loads the notification signing keys and a Graph token, and makes sure of the calls table, as a
 * new instance starts. Without it the first notification an instance gets pays for all three (the
 * OpenID configuration, the key set, the token endpoint, the table's creation or its 409): for an
 * incoming call that is time out of the 15 seconds Graph gives the bot to answer
 * (https://learn.microsoft.com/en-us/graph/api/call-answer). A failure is logged and left for the
 * first notification to retry; it never stops the instance from starting.
 */
export async function warmUp({
  authenticator,
  graphCredential,
  callStore,
  log,
  timeoutMs = WARM_UP_TIMEOUT_MS,
}: WarmUpDeps): Promise<WarmUpResult> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const [keys, token, table] = await Promise.allSettled([
    withDeadline(() => authenticator.preload(), deadline),
    withDeadline(() => graphCredential().getToken(GRAPH_SCOPE, { abortSignal: deadline }), deadline),
    withDeadline(() => callStore.prepare(), deadline),
  ]);
  const result: WarmUpResult = {
    signingKeys: keys.status === 'fulfilled' ? 'loaded' : 'failed',
    graphToken: token.status === 'fulfilled' && token.value !== null ? 'ready' : 'failed',
    callsTable: table.status === 'fulfilled' ? 'ready' : 'failed',
  };
  if (keys.status === 'rejected')
    log.warn(`Warm-up: notification signing keys not loaded (the first notification will try again): ${reasonOf(keys.reason)}`);
  if (result.graphToken === 'failed') {
    const reason = token.status === 'rejected' ? reasonOf(token.reason) : 'the credential returned no token';
    log.warn(`Warm-up: no Graph token yet (the first Graph request will try again): ${reason}`);
  }
  if (table.status === 'rejected')
    log.warn(`Warm-up: the calls table not reached (the first call will try again): ${reasonOf(table.reason)}`);
  log.info(`Warm-up: signing keys ${result.signingKeys}, Graph token ${result.graphToken}, calls table ${result.callsTable}`);
  return result;
}

/** Settles with `work` or, if that takes too long, rejects at the deadline; a synchronous throw becomes a rejection. */
function withDeadline<T>(work: () => Promise<T>, deadline: AbortSignal): Promise<T> {
  const late = () => new Error('not done within the warm-up time');
  if (deadline.aborted) return Promise.reject(late());
  return untilAborted(Promise.resolve().then(work), deadline, late);
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
