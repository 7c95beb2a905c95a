import { GraphError, type Client } from '@microsoft/microsoft-graph-client';

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

export class GraphClientCalls implements GraphCalls {
  constructor(private readonly client: Client) {}

  answer(callId: string, request: AnswerRequest): Promise<GraphOutcome> {
    return this.post(`/communications/calls/${encodeURIComponent(callId)}/answer`, request, ANSWER_TIMEOUT_MS);
  }

  keepAlive(callId: string): Promise<GraphOutcome> {
    return this.post(`/communications/calls/${encodeURIComponent(callId)}/keepAlive`, undefined, KEEPALIVE_TIMEOUT_MS);
  }

  private async post(path: string, body: unknown, timeoutMs: number): Promise<GraphOutcome> {
    try {
      await this.client.api(path).option('signal', AbortSignal.timeout(timeoutMs)).post(body);
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
