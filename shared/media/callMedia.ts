import type { CallStore, PromptPlayback, StoredCall } from '../calls/callStore.js';
import { hangUpCall } from '../calls/hangUp.js';
import type { GraphCalls } from '../graph/graphCalls.js';
import type { Logger } from '../logger.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';

export interface MediaDeps {
  store: CallStore;
  graph: GraphCalls;
  clock: () => Date;
  log: Logger;
  /** WELCOME_PROMPT_URL: played once on every answered incoming call. */
  welcomePromptUrl: string | undefined;
}

/** The prompt a call plays once established: a placed call's own, or the welcome prompt of an answered incoming call. */
export function promptFor(
  call: Pick<StoredCall, 'outgoing' | 'direction' | 'policyRecording'>,
  welcomePromptUrl: string | undefined,
): string | undefined {
  if (call.outgoing) return call.outgoing.prompt;
  // A compliance recording bot is a silent participant: a prompt would be heard by everyone recorded.
  return call.direction === 'incoming' && call.policyRecording !== true ? welcomePromptUrl : undefined;
}

/**
 * What an established call asks for: the tone subscription (before the prompt, so a key pressed
 * during it counts) and the prompt. Each is claimed on the row under its ETag before it is asked of
 * Graph, so only one delivery of `established` (or one instance) does it, and a redelivery replays
 * nothing. playPrompt is not idempotent, so a failed or lost request is recorded as failed, not
 * repeated. Nothing here fails the notification: the call itself is tracked and kept alive either way.
 */
export async function startCallMedia(call: StoredCall, deps: MediaDeps): Promise<void> {
  const { store, graph, clock, log } = deps;
  const callId = call.callId;
  if (call.outgoing?.collectTone && call.toneSubscribedAt === undefined) {
    const at = clock();
    const claimed = await store.update(callId, (current) => (current.toneSubscribedAt ? undefined : { toneSubscribedAt: at }));
    if (claimed.outcome === 'updated') {
      const subscribed = await graph.subscribeToTone(callId, callId);
      if (subscribed.ok) log.info(`Call ${callId}: subscribed to key presses`);
      else {
        log.error(
          `Call ${callId}: subscribing to key presses failed (Graph ${subscribed.status ?? 'no response'} ${subscribed.code ?? ''}: ${subscribed.message}); no key press will be recorded`,
        );
      }
    }
  }
  const uri = promptFor(call, deps.welcomePromptUrl);
  if (uri === undefined || call.prompt !== undefined) return;
  const requested: PromptPlayback = { uri, status: 'requested', requestedAt: clock().toISOString() };
  const claimed = await store.update(callId, (current) => (current.prompt ? undefined : { prompt: requested }));
  if (claimed.outcome !== 'updated') return;
  const played = await graph.playPrompt(callId, uri, callId);
  if (played.ok) {
    log.info(`Call ${callId}: playing its prompt (operation ${played.operationId ?? '?'})`);
    const settled = played.status === 'completed' || played.status === 'failed';
    await recordPrompt(
      callId,
      (current) => ({
        ...current,
        operationId: played.operationId,
        // The operation's notification may have come first: it is not undone.
        status: current.status === 'requested' ? (settled ? (played.status as 'completed' | 'failed') : 'running') : current.status,
      }),
      deps,
    );
    if (settled) await afterPrompt(callId, deps);
    return;
  }
  log.error(
    `Call ${callId}: playPrompt failed (Graph ${played.status ?? 'no response'} ${played.code ?? ''}: ${played.message}); not repeated (it is not idempotent)`,
  );
  await recordPrompt(
    callId,
    (current) => ({
      ...current,
      status: 'failed',
      finishedAt: clock().toISOString(),
      resultInfo: { code: played.status, message: played.message },
    }),
    deps,
  );
  await afterPrompt(callId, deps);
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
    if (!prompt || prompt.status === 'completed' || prompt.status === 'failed') return undefined;
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
  await afterPrompt(callId, deps);
  return 'operation';
}

/** A call placed with `hangUpAfter: "prompt"` is hung up once its prompt has played, or failed to. */
async function afterPrompt(callId: string, deps: MediaDeps): Promise<void> {
  const call = await deps.store.get(callId);
  if (call?.outgoing?.hangUpAfter !== 'prompt') return;
  await hangUpCall(callId, `its prompt ${call.prompt?.status ?? 'ended'}`, deps);
}

/** A call placed with `hangUpAfter: "tone"` is hung up at its first key press. */
export async function afterTone(call: StoredCall, deps: MediaDeps): Promise<void> {
  if (call.outgoing?.hangUpAfter !== 'tone' || call.hangUpRequestedAt !== undefined) return;
  await hangUpCall(call.callId, `key ${call.tones?.[0]?.tone ?? '?'} was pressed`, deps);
}

// Graph's operation notifications spell ids in upper case without dashes, its responses as GUIDs
// (https://learn.microsoft.com/en-us/graph/api/call-playprompt: the response and "Notification - operation completed").
function sameId(a: string, b: string): boolean {
  const plain = (id: string) => id.replace(/-/g, '').toLowerCase();
  return plain(a) === plain(b);
}

async function recordPrompt(callId: string, change: (current: PromptPlayback) => PromptPlayback, { store, log }: MediaDeps): Promise<void> {
  try {
    await store.update(callId, (current) => (current.prompt ? { prompt: change(current.prompt) } : undefined));
  } catch (error) {
    log.warn(`Call ${callId}: the prompt's progress was not recorded (${error instanceof Error ? error.message : String(error)})`);
  }
}
