import { GraphError, type Client } from '@microsoft/microsoft-graph-client';
import { setTimeout } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { deadlineIn, deadlineWithin, timeLeftMs, untilAborted, type Deadline } from '../deadline.js';
import { GraphRequestNotSent } from './graphClient.js';
import { retryDecision, type RetryClass } from './retryPolicy.js';
import { KEEPALIVE_REQUEST_BUDGET_MS } from '../keepAlive/keepAliveSchedule.js';

export type GraphOutcome =
  | { ok: true }
  | {
      ok: false;
      /** HTTP status from Graph; undefined when no response arrived (network error, timeout). */
      status: number | undefined;
      code: string | undefined;
      message: string;
    };

/** The body of `POST /communications/calls/{id}/answer` (https://learn.microsoft.com/en-us/graph/api/call-answer). */
export interface AnswerRequest {
  callbackUri: string;
  acceptedModalities: string[];
  mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
  participantCapacity?: number;
}

export type GraphFailure = Extract<GraphOutcome, { ok: false }>;

/**
 * The body of `POST /communications/calls` (https://learn.microsoft.com/en-us/graph/api/application-post-calls):
 * meeting joins carry chatInfo/meetingInfo, calls the bot places carry targets (and a source).
 */
export interface CreateCallRequest {
  '@odata.type': '#microsoft.graph.call';
  direction?: 'outgoing';
  callbackUri: string;
  source?: Record<string, unknown>;
  targets?: Record<string, unknown>[];
  requestedModalities: string[];
  mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
  chatInfo?: Record<string, unknown>;
  meetingInfo?: Record<string, unknown>;
  tenantId: string;
}

/** What the bot keeps from Graph's 201 answer to a create call. */
export interface CreatedCall {
  id: string;
  state: string;
  myParticipantId: string | undefined;
}

export type CreateCallOutcome = { ok: true; call: CreatedCall } | GraphFailure;

/** Graph's answer to playPrompt: the operation whose end a notification reports (https://learn.microsoft.com/en-us/graph/api/call-playprompt). */
export type PlayPromptOutcome = { ok: true; operationId: string | undefined; status: string | undefined } | GraphFailure;

/** The reasons `POST /communications/calls/{id}/reject` accepts. */
export type RejectReason = 'none' | 'busy' | 'forbidden';

/** The Graph cloud-communications operations the bot uses. */
export interface GraphCalls {
  /** `deadline` counts from the notification's arrival (policy-based recording gives the bot 5 s, not 15). */
  answer(callId: string, request: AnswerRequest, deadline?: Deadline): Promise<GraphOutcome>;
  /**
   * `deadline` (e.g. the sweep's own time budget) cuts the request and any wait for a retry short;
   * `onFailedAttempt` hears of each attempt that failed, with its status (the sweep sizes its
   * in-flight count by the 429s, and leaves retried requests out of its latency).
   */
  keepAlive(callId: string, deadline?: AbortSignal, onFailedAttempt?: (status: number | undefined) => void): Promise<GraphOutcome>;
  /** `GET /communications/calls/{id}`: 404 when Graph no longer knows the call. */
  get(callId: string, deadline?: AbortSignal): Promise<GraphOutcome>;
  create(request: CreateCallRequest): Promise<CreateCallOutcome>;
  /** `DELETE /communications/calls/{id}`. */
  hangUp(callId: string, deadline?: AbortSignal): Promise<GraphOutcome>;
  reject(callId: string, reason: RejectReason, deadline?: Deadline): Promise<GraphOutcome>;
  /** `POST /communications/calls/{id}/playPrompt` with one WAV prompt; `clientContext` comes back in the operation's notifications. */
  playPrompt(callId: string, uri: string, clientContext: string): Promise<PlayPromptOutcome>;
  /** `POST /communications/calls/{id}/subscribeToTone`: key presses then arrive as `toneInfo` on call notifications. */
  subscribeToTone(callId: string, clientContext: string): Promise<GraphOutcome>;
}

// Used when the caller gives no deadline: Graph gives up on an unanswered call after 15 s
// (https://learn.microsoft.com/en-us/graph/api/call-answer), so waiting longer is pointless.
const ANSWER_TIMEOUT_MS = 12_000;
// Includes any wait for Retry-After (a keepAlive that cannot be done in this budget is left to the
// next sweep); the bound on KEEPALIVE_INTERVAL_MINUTES counts on it.
const KEEPALIVE_TIMEOUT_MS = KEEPALIVE_REQUEST_BUDGET_MS;
// A burst of incoming calls would otherwise open one TLS connection per call, and the handshakes
// alone delay every answer; a bounded number in flight reuses warm connections. The bound is also
// a floor under a burst's answer time (500 calls at 50 ms: 0.78 s with 32, 0.39 s with 64): 64
// measured best, 128 spent more CPU on handshakes for no gain (docs/performance.md).
const ANSWERS_IN_FLIGHT = 64;
// A join or hang-up is asked for by a person waiting on the HTTP answer.
const CONTROL_TIMEOUT_MS = 30_000;

type Sent = { ok: true; body: unknown } | GraphFailure;

export class GraphClientCalls implements GraphCalls {
  private readonly answerLimit: LimitFunction;

  constructor(
    private readonly client: Client,
    answersInFlight = ANSWERS_IN_FLIGHT,
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void> = abortableSleep,
  ) {
    this.answerLimit = pLimit(answersInFlight);
  }

  answer(callId: string, request: AnswerRequest, deadline: Deadline = deadlineIn(ANSWER_TIMEOUT_MS)): Promise<GraphOutcome> {
    return this.inAnswerSlot(deadline, async () =>
      outcomeOf(
        await this.send('notIdempotent', deadline, (signal) =>
          this.client.api(callPath(callId, 'answer')).option('signal', signal).post(request),
        ),
      ),
    );
  }

  reject(callId: string, reason: RejectReason, deadline: Deadline = deadlineIn(ANSWER_TIMEOUT_MS)): Promise<GraphOutcome> {
    // Same window as an answer (https://learn.microsoft.com/en-us/graph/api/call-reject).
    return this.inAnswerSlot(deadline, async () =>
      outcomeOf(
        await this.send('notIdempotent', deadline, (signal) =>
          this.client.api(callPath(callId, 'reject')).option('signal', signal).post({ reason }),
        ),
      ),
    );
  }

  /**
   * Runs `work` in one of the answer slots. Time spent waiting for a slot counts against the
   * deadline, and the wait ends with it: an answer still without a slot then is `TimedOut`, with
   * nothing sent (the slot, when it frees, finds the deadline passed and sends nothing either).
   * One that got its slot is waited for: its request may have reached Graph.
   */
  private async inAnswerSlot(deadline: Deadline, work: () => Promise<GraphOutcome>): Promise<GraphOutcome> {
    if (deadline.signal.aborted) return timedOut(deadline.signal, 0);
    let started = false;
    const inSlot = this.answerLimit(() => {
      started = true;
      return work();
    });
    try {
      return await untilAborted(inSlot, deadline.signal);
    } catch (error) {
      // In its slot, the request may have reached Graph: its own outcome, whatever the deadline did.
      if (started) return inSlot;
      if (deadline.signal.aborted) return timedOut(deadline.signal, 0);
      throw error;
    }
  }

  async create(request: CreateCallRequest): Promise<CreateCallOutcome> {
    const sent = await this.send('notIdempotent', deadlineIn(CONTROL_TIMEOUT_MS), (signal) =>
      this.client.api('/communications/calls').option('signal', signal).post(request),
    );
    if (!sent.ok) return sent;
    const created = sent.body as Record<string, unknown> | undefined;
    const id = created?.['id'];
    if (typeof id !== 'string' || id === '') {
      // Graph said 2xx, so a call may exist, but nothing names it: as ambiguous as no answer.
      return { ok: false, status: undefined, code: 'NoCallId', message: 'Graph created a call but its answer names no call id' };
    }
    const state = typeof created?.['state'] === 'string' ? created['state'] : 'establishing';
    const myParticipantId = typeof created?.['myParticipantId'] === 'string' ? created['myParticipantId'] : undefined;
    return { ok: true, call: { id, state, myParticipantId } };
  }

  async playPrompt(callId: string, uri: string, clientContext: string): Promise<PlayPromptOutcome> {
    // Not idempotent: a repeat would play the prompt twice (or talk over the first).
    const sent = await this.send('notIdempotent', deadlineIn(CONTROL_TIMEOUT_MS), (signal) =>
      this.client
        .api(callPath(callId, 'playPrompt'))
        .option('signal', signal)
        .post({
          clientContext,
          prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri } }],
        }),
    );
    if (!sent.ok) return sent;
    const operation = sent.body as Record<string, unknown> | undefined;
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    return { ok: true, operationId: text(operation?.['id']), status: text(operation?.['status']) };
  }

  async subscribeToTone(callId: string, clientContext: string): Promise<GraphOutcome> {
    // A second subscription to the same call changes nothing: safe to repeat.
    return outcomeOf(
      await this.send('idempotent', deadlineIn(CONTROL_TIMEOUT_MS), (signal) =>
        this.client.api(callPath(callId, 'subscribeToTone')).option('signal', signal).post({ clientContext }),
      ),
    );
  }

  async hangUp(callId: string, deadline?: AbortSignal): Promise<GraphOutcome> {
    // A repeated DELETE of a call that is gone answers 404, which the caller reads as "already ended": safe to retry.
    return outcomeOf(
      await this.sendWithin('idempotent', CONTROL_TIMEOUT_MS, deadline, (signal) =>
        this.client.api(callPath(callId)).option('signal', signal).delete(),
      ),
    );
  }

  async keepAlive(callId: string, deadline?: AbortSignal, onFailedAttempt?: (status: number | undefined) => void): Promise<GraphOutcome> {
    return outcomeOf(
      await this.sendWithin(
        'idempotent',
        KEEPALIVE_TIMEOUT_MS,
        deadline,
        (signal) => this.client.api(callPath(callId, 'keepAlive')).option('signal', signal).post(undefined),
        onFailedAttempt,
      ),
    );
  }

  async get(callId: string, deadline?: AbortSignal): Promise<GraphOutcome> {
    return outcomeOf(
      await this.sendWithin('idempotent', CONTROL_TIMEOUT_MS, deadline, (signal) =>
        this.client.api(callPath(callId)).option('signal', signal).get(),
      ),
    );
  }

  /** `send` with a deadline of `ms` that `outer` (a sweep's budget) may end sooner. */
  private async sendWithin(
    retryClass: RetryClass,
    ms: number,
    outer: AbortSignal | undefined,
    request: (signal: AbortSignal) => Promise<unknown>,
    onFailedAttempt?: (status: number | undefined) => void,
  ): Promise<Sent> {
    const deadline = deadlineWithin(ms, outer);
    try {
      return await this.send(retryClass, deadline, request, onFailedAttempt);
    } finally {
      deadline.release();
    }
  }

  /**
   * Sends a request, and again after a retryable failure while the retry policy allows it and the
   * wait fits before the deadline. A wait is cut short when the deadline's signal fires.
   */
  private async send(
    retryClass: RetryClass,
    deadline: Deadline,
    request: (signal: AbortSignal) => Promise<unknown>,
    onFailedAttempt?: (status: number | undefined) => void,
  ): Promise<Sent> {
    for (let retries = 0; ; retries++) {
      if (deadline.signal.aborted) return timedOut(deadline.signal, retries);
      let failed: GraphFailure & { retryAfter: string | null | undefined };
      try {
        return { ok: true, body: await request(deadline.signal) };
      } catch (error) {
        failed = failure(error);
      }
      onFailedAttempt?.(failed.status);
      const decision = retryDecision(retryClass, failed, failed.retryAfter, retries, timeLeftMs(deadline));
      if (!decision.retry) {
        const { retryAfter: _, ...result } = failed;
        if (decision.why === 'pastDeadline') {
          result.message +=
            failed.retryAfter === undefined || failed.retryAfter === null
              ? ' (no time was left before the deadline for a retry)'
              : ` (a retry was not waited for: Retry-After ${failed.retryAfter} runs past the deadline)`;
        }
        return result;
      }
      try {
        await this.sleep(decision.waitMs, deadline.signal);
      } catch {
        const { retryAfter: _, ...result } = failed;
        return { ...result, message: `${result.message} (the deadline passed while waiting to retry)` };
      }
    }
  }
}

function callPath(callId: string, verb?: 'answer' | 'reject' | 'keepAlive' | 'playPrompt' | 'subscribeToTone'): string {
  return `/communications/calls/${encodeURIComponent(callId)}${verb ? `/${verb}` : ''}`;
}

function outcomeOf(sent: Sent): GraphOutcome {
  return sent.ok ? { ok: true } : sent;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return setTimeout(ms, undefined, { signal });
}

function timedOut(signal: AbortSignal, retries: number): GraphFailure {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'timed out';
  // Before any attempt nothing reached Graph; after one, the last attempt's outcome was already returned.
  return { ok: false, status: undefined, code: 'TimedOut', message: `${retries === 0 ? 'No request sent' : 'Not retried'}: ${reason}` };
}

function failure(error: unknown): GraphFailure & { retryAfter: string | null | undefined } {
  if (error instanceof GraphRequestNotSent) {
    return { ok: false, status: undefined, code: 'NotSent', message: `No request sent: ${error.message}`, retryAfter: undefined };
  }
  if (error instanceof GraphError) {
    return {
      ok: false,
      status: error.statusCode > 0 ? error.statusCode : undefined,
      code: error.code ?? undefined,
      message: error.message,
      retryAfter: error.headers?.get('retry-after'),
    };
  }
  // An abort or a network failure: no HTTP status, so whether Graph acted is unknown.
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError' || error.name === 'TypeError')) {
    return { ok: false, status: undefined, code: error.name, message: error.message, retryAfter: undefined };
  }
  throw error;
}

/**
 * The HTTP status to give a caller of this app for a Graph failure: Graph's own, except where it
 * would mislead. A 401 is about the bot's Graph token, not the caller's function key, and no status
 * means Graph never answered; both are 502.
 */
export function statusForCaller(graphStatus: number | undefined): number {
  if (graphStatus === undefined || graphStatus === 401 || graphStatus < 400 || graphStatus > 599) return 502;
  return graphStatus;
}
