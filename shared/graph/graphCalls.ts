import { GraphError, type Client } from '@microsoft/microsoft-graph-client';
import pLimit, { type LimitFunction } from 'p-limit';

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

/** The Graph cloud-communications operations the bot uses. */
export interface GraphCalls {
  answer(callId: string, request: AnswerRequest): Promise<GraphOutcome>;
  keepAlive(callId: string): Promise<GraphOutcome>;
}

// Graph rejects an answer after 15 s (answer seed), so waiting longer for it is pointless.
const ANSWER_TIMEOUT_MS = 12_000;
// Includes the retry handler's waits for Retry-After.
const KEEPALIVE_TIMEOUT_MS = 60_000;
// A burst of incoming calls would otherwise open one TLS connection per call, and the handshakes
// alone delay every answer; a bounded number in flight reuses warm connections. At Graph's usual
// latency this still answers hundreds of calls a second (README, Performance).
const ANSWERS_IN_FLIGHT = 32;

export class GraphClientCalls implements GraphCalls {
  private readonly answerLimit: LimitFunction;

  constructor(
    private readonly client: Client,
    answersInFlight = ANSWERS_IN_FLIGHT,
  ) {
    this.answerLimit = pLimit(answersInFlight);
  }

  answer(callId: string, request: AnswerRequest): Promise<GraphOutcome> {
    // The deadline counts from the call's arrival, so time spent waiting for a slot counts too.
    const deadline = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
    return this.answerLimit(() =>
      this.post(`/communications/calls/${encodeURIComponent(callId)}/answer`, request, deadline),
    );
  }

  keepAlive(callId: string): Promise<GraphOutcome> {
    return this.post(
      `/communications/calls/${encodeURIComponent(callId)}/keepAlive`,
      undefined,
      AbortSignal.timeout(KEEPALIVE_TIMEOUT_MS),
    );
  }

  private async post(path: string, body: unknown, signal: AbortSignal): Promise<GraphOutcome> {
    if (signal.aborted) return timedOut(signal);
    try {
      await this.client.api(path).option('signal', signal).post(body);
      return { ok: true };
    } catch (error) {
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
  }
}

function timedOut(signal: AbortSignal): GraphOutcome {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'timed out';
  return { ok: false, status: undefined, code: 'TimedOut', message: `No request sent: ${reason}` };
}
