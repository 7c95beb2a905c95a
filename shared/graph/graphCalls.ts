import { GraphError, type Client } from '@microsoft/microsoft-graph-client';
import pLimit, { type LimitFunction } from 'p-limit';
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

/** The body of `POST /communications/calls/{id}/answer` (answer seed). */
export interface AnswerRequest {
  callbackUri: string;
  acceptedModalities: string[];
  mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
  participantCapacity?: number;
}

export type GraphFailure = Extract<GraphOutcome, { ok: false }>;

/** The body of `POST /communications/calls` (create-call seed); meeting joins carry chatInfo/meetingInfo. */
export interface CreateCallRequest {
  '@odata.type': '#microsoft.graph.call';
  callbackUri: string;
  requestedModalities: string[];
  mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
  chatInfo?: Record<string, unknown>;
  meetingInfo: Record<string, unknown>;
  tenantId: string;
}

/** What the bot keeps from Graph's 201 answer to a create call. */
export interface CreatedCall {
  id: string;
  state: string;
  myParticipantId: string | undefined;
}

export type CreateCallOutcome = { ok: true; call: CreatedCall } | GraphFailure;

/** The reasons `POST /communications/calls/{id}/reject` accepts. */
export type RejectReason = 'none' | 'busy' | 'forbidden';

/** The Graph cloud-communications operations the bot uses. */
export interface GraphCalls {
  /** `deadlineMs` overrides the default wait (policy-based recording gives the bot 5 s, not 15). */
  answer(callId: string, request: AnswerRequest, deadlineMs?: number): Promise<GraphOutcome>;
  /** `deadline` (e.g. the sweep's own time budget) cuts the request and any wait for a retry short. */
  keepAlive(callId: string, deadline?: AbortSignal): Promise<GraphOutcome>;
  /** `GET /communications/calls/{id}`: 404 when Graph no longer knows the call. */
  get(callId: string): Promise<GraphOutcome>;
  create(request: CreateCallRequest): Promise<CreateCallOutcome>;
  /** `DELETE /communications/calls/{id}`. */
  hangUp(callId: string): Promise<GraphOutcome>;
  reject(callId: string, reason: RejectReason, deadlineMs?: number): Promise<GraphOutcome>;
}

// Graph rejects an answer after 15 s (answer seed), so waiting longer for it is pointless.
const ANSWER_TIMEOUT_MS = 12_000;
// Includes the retry handler's waits for Retry-After; the bound on KEEPALIVE_INTERVAL_MINUTES counts on it.
const KEEPALIVE_TIMEOUT_MS = KEEPALIVE_REQUEST_BUDGET_MS;
// A burst of incoming calls would otherwise open one TLS connection per call, and the handshakes
// alone delay every answer; a bounded number in flight reuses warm connections. At Graph's usual
// latency this still answers hundreds of calls a second (README, Performance).
const ANSWERS_IN_FLIGHT = 32;
// A join or hang-up is asked for by a person waiting on the HTTP answer.
const CONTROL_TIMEOUT_MS = 30_000;

export class GraphClientCalls implements GraphCalls {
  private readonly answerLimit: LimitFunction;

  constructor(
    private readonly client: Client,
    answersInFlight = ANSWERS_IN_FLIGHT,
  ) {
    this.answerLimit = pLimit(answersInFlight);
  }

  answer(callId: string, request: AnswerRequest, deadlineMs = ANSWER_TIMEOUT_MS): Promise<GraphOutcome> {
    // The deadline counts from the call's arrival, so time spent waiting for a slot counts too.
    const deadline = AbortSignal.timeout(deadlineMs);
    return this.answerLimit(() =>
      this.post(`/communications/calls/${encodeURIComponent(callId)}/answer`, request, deadline),
    );
  }

  async create(request: CreateCallRequest): Promise<CreateCallOutcome> {
    try {
      const created = (await this.client
        .api('/communications/calls')
        .option('signal', AbortSignal.timeout(CONTROL_TIMEOUT_MS))
        .post(request)) as Record<string, unknown> | undefined;
      const id = created?.['id'];
      if (typeof id !== 'string' || id === '') {
        return { ok: false, status: 502, code: 'NoCallId', message: 'Graph created a call but its answer names no call id' };
      }
      const state = typeof created?.['state'] === 'string' ? created['state'] : 'establishing';
      const myParticipantId = typeof created?.['myParticipantId'] === 'string' ? created['myParticipantId'] : undefined;
      return { ok: true, call: { id, state, myParticipantId } };
    } catch (error) {
      return failure(error);
    }
  }

  async hangUp(callId: string): Promise<GraphOutcome> {
    try {
      await this.client
        .api(`/communications/calls/${encodeURIComponent(callId)}`)
        .option('signal', AbortSignal.timeout(CONTROL_TIMEOUT_MS))
        .delete();
      return { ok: true };
    } catch (error) {
      return failure(error);
    }
  }

  reject(callId: string, reason: RejectReason, deadlineMs = ANSWER_TIMEOUT_MS): Promise<GraphOutcome> {
    // Same 15 s (5 s for policy-based recording) window as an answer (answer seed).
    const deadline = AbortSignal.timeout(deadlineMs);
    return this.answerLimit(() =>
      this.post(`/communications/calls/${encodeURIComponent(callId)}/reject`, { reason }, deadline),
    );
  }

  keepAlive(callId: string, deadline?: AbortSignal): Promise<GraphOutcome> {
    const timeout = AbortSignal.timeout(KEEPALIVE_TIMEOUT_MS);
    return this.post(
      `/communications/calls/${encodeURIComponent(callId)}/keepAlive`,
      undefined,
      deadline ? AbortSignal.any([deadline, timeout]) : timeout,
    );
  }

  async get(callId: string): Promise<GraphOutcome> {
    try {
      await this.client
        .api(`/communications/calls/${encodeURIComponent(callId)}`)
        .option('signal', AbortSignal.timeout(CONTROL_TIMEOUT_MS))
        .get();
      return { ok: true };
    } catch (error) {
      return failure(error);
    }
  }

  private async post(path: string, body: unknown, signal: AbortSignal): Promise<GraphOutcome> {
    if (signal.aborted) return timedOut(signal);
    try {
      await this.client.api(path).option('signal', signal).post(body);
      return { ok: true };
    } catch (error) {
      return failure(error);
    }
  }
}

function timedOut(signal: AbortSignal): GraphOutcome {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'timed out';
  return { ok: false, status: undefined, code: 'TimedOut', message: `No request sent: ${reason}` };
}

function failure(error: unknown): GraphFailure {
  if (error instanceof GraphError) {
    return {
      ok: false,
      status: error.statusCode > 0 ? error.statusCode : undefined,
      code: error.code ?? undefined,
      message: error.message,
    };
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
