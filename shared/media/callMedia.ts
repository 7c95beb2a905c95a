import { randomUUID } from 'node:crypto';
import type { PromptPlayback, StoredCall } from '../calls/callStore.js';
import { hangUpCall, type HangUpDeps } from '../calls/hangUp.js';
import type { Logger } from '../logger.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';
import { hangUpDue } from './hangUpRule.js';

export type MediaDeps = HangUpDeps;

/** The prompt a new row carries, to be played once the call is established. */
export function pendingPrompt(uri: string | undefined): PromptPlayback | undefined {
  return uri === undefined ? undefined : { uri, status: 'pending' };
}

/**
 * What an established call asks for: the tone subscription (before the prompt, so a key pressed
 * during it counts) and its pending prompt. Each is claimed on the row under its ETag before it is
 * asked of Graph, so only one delivery of `established` (or one instance) does it, and a redelivery
 * replays nothing; the claim carries a value of this delivery's own, so a claim the storage SDK
 * wrote twice (a lost response) is still known as ours. playPrompt is not idempotent, so a failed or
 * lost request is recorded as failed, not repeated. Nothing here fails the notification: the call
 * itself is tracked and kept alive either way.
 */
export async function startCallMedia(call: StoredCall, deps: MediaDeps): Promise<void> {
  const { store, graph, clock, log } = deps;
  const callId = call.callId;
  // Each claim starts from the row the write before it returned (its ETag current), not a fresh read.
  let latest = call;
  if (call.outgoing?.collectTone && call.toneSubscribedAt === undefined) {
    const at = clock();
    const claimed = await store.update(callId, (current) => (current.toneSubscribedAt ? undefined : { toneSubscribedAt: at }), latest);
    if (claimed.outcome === 'missing') return;
    latest = claimed.call;
    if (claimed.call.toneSubscribedAt?.getTime() === at.getTime()) {
      const subscribed = await graph.subscribeToTone(callId, callId);
      if (subscribed.ok) log.info(`Call ${callId}: subscribed to key presses`);
      else {
        log.error(
          `Call ${callId}: subscribing to key presses failed (Graph ${subscribed.status ?? 'no response'} ${subscribed.code ?? ''}: ${subscribed.message}); no key press will be recorded`,
        );
      }
    }
  }
  if (call.prompt?.status !== 'pending') return;
  const claim = randomUUID();
  const requestedAt = clock().toISOString();
  const claimed = await store.update(
    callId,
    (current) =>
      current.prompt?.status === 'pending' ? { prompt: { ...current.prompt, status: 'requested', claim, requestedAt } } : undefined,
    latest,
  );
  if (claimed.outcome === 'missing' || claimed.call.prompt?.claim !== claim) return;
  const { uri } = claimed.call.prompt;
  const played = await graph.playPrompt(callId, uri, callId);
  if (played.ok) {
    log.info(`Call ${callId}: playing its prompt (operation ${played.operationId ?? '?'})`);
    // Graph may answer with the operation already finished, and then sends no notification for it.
    const settled = played.status === 'completed' || played.status === 'failed' ? played.status : undefined;
    const recorded = await recordPrompt(
      callId,
      (current) => ({
        ...current,
        operationId: played.operationId,
        // The operation's notification may have come first: it is not undone.
        ...(current.status === 'requested' &&
          (settled ? { status: settled, finishedAt: clock().toISOString() } : { status: 'running' as const })),
      }),
      deps,
      claimed.call,
    );
    if (settled) await hangUpIfDue(callId, deps, recorded);
    return;
  }
  log.error(
    `Call ${callId}: playPrompt failed (Graph ${played.status ?? 'no response'} ${played.code ?? ''}: ${played.message}); not repeated (it is not idempotent)`,
  );
  const recorded = await recordPrompt(
    callId,
    (current) => ({
      ...current,
      status: 'failed',
      finishedAt: clock().toISOString(),
      resultInfo: { code: played.status, message: played.message },
    }),
    deps,
    claimed.call,
  );
  await hangUpIfDue(callId, deps, recorded);
}

export type OperationOutcome = 'operation' | 'unknownCall' | 'ignored';

/**
 * An operation notification: the prompt's end is recorded on the row (once: a redelivery finds it
 * recorded), and a call placed with `hangUpAfter: "prompt"` is hung up. Never ends the call by
 * itself, whatever its changeType says.
 */
export async function applyOperation(
  callId: string,
  operation: { operationId: string; operationType: string | undefined; status: string | undefined; resultInfo: ResultInfo | undefined },
  deps: MediaDeps,
): Promise<OperationOutcome> {
  const { store, clock, log } = deps;
  const finished = operation.status === 'completed' || operation.status === 'failed';
  if (!/playPromptOperation$/i.test(operation.operationType ?? '') || !finished) {
    log.debug(`Call ${callId}: operation ${operation.operationId} (${operation.operationType ?? '?'}) is ${operation.status ?? '?'}`);
    return 'ignored';
  }
  const status = operation.status as 'completed' | 'failed';
  const result = await store.update(callId, (current) => {
    const prompt = current.prompt;
    if (!prompt || (prompt.status !== 'requested' && prompt.status !== 'running')) return undefined;
    if (prompt.operationId !== undefined && !sameId(prompt.operationId, operation.operationId)) return undefined;
    return {
      prompt: {
        ...prompt,
        operationId: prompt.operationId ?? operation.operationId,
        status,
        finishedAt: clock().toISOString(),
        resultInfo: operation.resultInfo,
      },
    };
  });
  if (result.outcome === 'missing') {
    log.info(`Call ${callId}: operation ${operation.operationId} ${status} for a call that is not tracked; ignored`);
    return 'unknownCall';
  }
  if (result.outcome === 'unchanged') return 'operation';
  const info = operation.resultInfo;
  log[status === 'completed' ? 'info' : 'warn'](
    `Call ${callId}: prompt ${status} (resultInfo ${info?.code ?? '-'}/${info?.subcode ?? '-'}${info?.message ? `: ${info.message}` : ''})`,
  );
  await hangUpIfDue(callId, deps, result.call);
  return 'operation';
}

/**
 * Hangs up a placed call whose `hangUpAfter` rule is met (its prompt ended, a key came). A failure
 * is logged by the hang-up and clears its mark: the sweep asks `hangUpDue` again and retries.
 */
export async function hangUpIfDue(callId: string, deps: MediaDeps, known?: StoredCall): Promise<void> {
  const call = known ?? (await deps.store.get(callId));
  // The sweep's tone wait is not checked here: only what the notification just brought.
  const why = call && hangUpDue(call, deps.clock(), Number.POSITIVE_INFINITY);
  if (why) await hangUpCall(callId, why, deps);
}

/** The sweep's step for a prompt with no outcome in sight (see `promptStale`): recorded failed, so its call's hang-up rule can go on. */
export async function settleStalePrompt(call: StoredCall, deps: MediaDeps): Promise<void> {
  const { clock, log } = deps;
  const at = clock().toISOString();
  log.warn(
    `Call ${call.callId}: its prompt has been ${call.prompt?.status} since ${call.prompt?.requestedAt} with no outcome; recorded failed`,
  );
  await recordPrompt(
    call.callId,
    (current) =>
      current.status === 'requested' || current.status === 'running'
        ? { ...current, status: 'failed', finishedAt: at, resultInfo: { message: 'no outcome of the prompt was received' } }
        : undefined,
    deps,
    call,
  );
}

// Graph's operation notifications spell ids in upper case without dashes, its responses as GUIDs
// (https://learn.microsoft.com/en-us/graph/api/call-playprompt: the response and "Notification - operation completed").
function sameId(a: string, b: string): boolean {
  const plain = (id: string) => id.replace(/-/g, '').toLowerCase();
  return plain(a) === plain(b);
}

/**
 * Writes the prompt's progress (`undefined` from `change`: nothing to write) and hands back the row
 * as it now is, so what follows need not read it again; `known` is a copy just read or written,
 * which saves the first read. Undefined when the row is gone or the write failed (logged).
 */
async function recordPrompt(
  callId: string,
  change: (current: PromptPlayback) => PromptPlayback | undefined,
  { store, log }: { store: MediaDeps['store']; log: Logger },
  known?: StoredCall,
): Promise<StoredCall | undefined> {
  try {
    const result = await store.update(
      callId,
      (current) => {
        const prompt = current.prompt && change(current.prompt);
        return prompt ? { prompt } : undefined;
      },
      known,
    );
    return result.outcome === 'missing' ? undefined : result.call;
  } catch (error) {
    log.warn(`Call ${callId}: the prompt's progress was not recorded (${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}
