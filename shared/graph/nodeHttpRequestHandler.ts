import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
// The modules' default exports, read at each call: telemetry's HTTP instrumentation patches the
// module objects after this file is loaded, and named imports of built-ins would not see that.
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { STALE_CONNECTION } from './retryPolicy.js';

/**
 * The end of the Graph client's middleware chain: sends with `node:https` over keep-alive
 * connections, instead of the client's `HTTPMessageHandler`, which calls `fetch`. `fetch` wraps
 * every exchange in WHATWG request and stream objects: on a sweep of thousands of keepAlives a
 * second, and in a burst of answers, that was the largest share of the app's CPU
 * (docs/performance.md). The client still gets a standard `Response`, so its response and error
 * handling are unchanged. Redirects are not followed here (the client's `RedirectHandler` does
 * that), and an abort rejects with the signal's reason, as `fetch` does.
 */
export class NodeHttpRequestHandler implements Middleware {
  private readonly agents;

  /**
   * `idleMs`: how long a connection may sit unused before this side closes it. A server closes idle
   * connections too, and a request written onto one it is closing fails with "socket hang up"
   * (a keepAlive lost for nothing): closing first, as `fetch` does (4 s, or a second before the
   * server's `Keep-Alive: timeout=` hint), keeps that race rare. Node's agent heeds the hint only
   * under a timeout of its own.
   */
  constructor(idleMs = IDLE_CONNECTION_MS) {
    this.agents = {
      // Every idle connection is kept until its idle time ends, however many a sweep opened.
      'https:': new https.Agent({
        keepAlive: true,
        timeout: idleMs,
        maxFreeSockets: Infinity,
        // One TLS context (the trusted roots, NODE_EXTRA_CA_CERTS included) for every connection:
        // without it each new connection builds its own, which was about 4 % of a warm burst's
        // CPU, as 64 answers at once open up to 64 connections (docs/performance.md).
        secureContext: tls.createSecureContext(),
      }),
      'http:': new http.Agent({ keepAlive: true, timeout: idleMs, maxFreeSockets: Infinity }),
    };
  }

  async execute(context: Context): Promise<void> {
    const url = typeof context.request === 'string' ? new URL(context.request) : undefined;
    if (url === undefined) throw new TypeError('NodeHttpRequestHandler sends requests given by URL only');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError(`NodeHttpRequestHandler cannot send to ${url.protocol} URLs`);
    }
    const options = context.options ?? {};
    const body = bodyOf(options.body);
    const headers = headersOf(options.headers);
    // An explicit length: Node would otherwise send a bodiless POST (keepAlive) chunked.
    headers['content-length'] = body === undefined ? 0 : Buffer.byteLength(body);
    const agent = url.protocol === 'https:' ? this.agents['https:'] : this.agents['http:'];
    const exchanged = await exchange(url, { method: options.method ?? 'GET', headers, body, signal: options.signal ?? undefined, agent });
    context.response = responseOf(exchanged);
  }
}

/**
 * One request over `node:http(s)` on `agent`, and its whole answer: the status, the raw headers and
 * the body as text (or the error that broke it off after the headers came). Also what the signing
 * keys are fetched with (shared/auth/jsonDocument.ts).
 */
export function exchange(url: URL, { method, headers, body, signal, agent }: ExchangeOptions): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      // As `fetch` does: an aborted request fails with the abort's reason (the deadline's timeout).
      const reason: unknown = signal?.aborted ? signal.reason : undefined;
      if (reason instanceof Error) return reject(reason);
      // The race the idle timeout narrows, lost anyway: a connection kept from an earlier request
      // closed before any answer. The caller may send an idempotent request again at once.
      if (request.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        return reject(new StaleConnectionError(`${error.message} (${error.code}) on a kept-alive connection, before any answer`));
      }
      // The status and headers came, the body broke off: as with `fetch`, the client still learns
      // the status (a 429's Retry-After, a 404) and fails on reading the body.
      if (answered) return resolve({ status: answered.statusCode ?? 0, rawHeaders: answered.rawHeaders, body: { error } });
      reject(error);
    };
    let answered: IncomingMessage | undefined;
    const onResponse = (response: IncomingMessage) => {
      answered = response;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        if (settled) return;
        settled = true;
        const text = chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, rawHeaders: response.rawHeaders, body: { text } });
      });
    };
    const request = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent, signal }, onResponse);
    request.on('error', fail);
    request.end(body);
  });
}

export interface ExchangeOptions {
  method: string;
  headers: OutgoingHttpHeaders;
  body?: string | Uint8Array;
  signal: AbortSignal | undefined;
  agent: http.Agent;
}

/** How long an unused connection to Graph is kept: the default idle timeout of undici, behind `fetch`. */
export const IDLE_CONNECTION_MS = 4_000;

/**
 * A request written onto a kept-alive connection that closed before any answer came. It does not
 * say whether Graph acted (a reset can come after the request was read): an idempotent request may
 * simply be sent again, while for answer, reject or create it proves nothing (RFC 9112, section
 * 9.3.1), so those still count as ambiguous.
 */
export class StaleConnectionError extends Error {
  override readonly name = STALE_CONNECTION;
}

export interface Exchanged {
  status: number;
  rawHeaders: string[];
  body: { text: string } | { error: Error };
}

function responseOf({ status, rawHeaders, body }: Exchanged): Response {
  if (status < 200 || status > 599) throw new TypeError(`Graph answered with HTTP status ${status}, which is not a final status`);
  const headers = new Headers();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers.append(rawHeaders[i]!, rawHeaders[i + 1]!);
  if ('error' in body) {
    const broken = new ReadableStream({ start: (controller) => controller.error(body.error) });
    return new Response(NULL_BODY_STATUSES.has(status) ? null : broken, { status, headers });
  }
  // An empty body stays null: a `Response` with status 204 (and a few others) may not have one.
  return new Response(body.text === '' ? null : body.text, { status, headers });
}

// Statuses whose `Response` may not have a body (the Fetch standard's null body statuses).
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

function headersOf(headers: HeadersInit | undefined): OutgoingHttpHeaders {
  const flat: OutgoingHttpHeaders = {};
  if (headers === undefined) return flat;
  if (headers instanceof Headers || Array.isArray(headers)) new Headers(headers).forEach((value, name) => (flat[name] = value));
  else for (const [name, value] of Object.entries(headers)) flat[name.toLowerCase()] = value;
  return flat;
}

function bodyOf(body: BodyInit | null | undefined): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  // The bot only sends JSON, which the Graph client serializes to a string before this point.
  throw new TypeError(`NodeHttpRequestHandler cannot send a ${Object.prototype.toString.call(body)} body`);
}
