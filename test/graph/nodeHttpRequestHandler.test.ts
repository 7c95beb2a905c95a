import type { Context } from '@microsoft/microsoft-graph-client';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { createGraphClient } from '../../shared/graph/graphClient.js';
import { GraphClientCalls } from '../../shared/graph/graphCalls.js';
import { answerRequest } from '../../shared/notifications/handleNotifications.js';
import { afterEach, expect, it, vi } from 'vitest';
import { NodeHttpRequestHandler } from '../../shared/graph/nodeHttpRequestHandler.js';
import { startHarness, type Harness } from '../support/harness.js';

// The Graph client sends through `node:https` (CPU: docs/performance.md), and must still
// behave to its callers exactly as it did over `fetch`.

let h: Harness | undefined;
let server: Server | import('node:net').Server | undefined;
// Connections a raw server holds open: closed after each test, so closing the server does not wait
// for the client's idle timeout.
const rawConnections = new Set<Socket>();
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.stop();
  h = undefined;
  for (const socket of rawConnections) socket.destroy();
  rawConnections.clear();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

it('Graph requests reach the simulator over HTTPS without fetch, with the token and the JSON body', async () => {
  h = await startHarness();
  const call = await h.establishedCall();
  const fetchSpy = vi.spyOn(globalThis, 'fetch').mockRejectedValue(new Error('fetch is not the Graph client’s way out'));

  expect(await h.runtime.graph.keepAlive(call.id)).toEqual({ ok: true });
  expect(await h.runtime.graph.get(call.id)).toEqual({ ok: true });
  expect(await h.runtime.graph.subscribeToTone(call.id, 'ctx-1')).toEqual({ ok: true });

  expect(fetchSpy).not.toHaveBeenCalled();
  const [keepAlive] = h.sim.requestsTo('keepAlive', call.id);
  expect(keepAlive).toMatchObject({ method: 'POST', authorization: expect.stringMatching(/^Bearer \S+/), status: 200 });
  expect(h.sim.requestsTo('subscribeToTone', call.id)[0]?.body).toEqual({ clientContext: 'ctx-1' });
});

it("Graph's error status, code and Retry-After reach the caller as they did over fetch", async () => {
  h = await startHarness();
  const call = await h.establishedCall();

  h.sim.failNext('keepAlive', { status: 403, code: 'Forbidden', message: 'not yours', times: 1 });
  expect(await h.runtime.graph.keepAlive(call.id)).toMatchObject({ ok: false, status: 403, code: 'Forbidden', message: 'not yours' });

  // The Retry-After header is read: an hour's wait does not fit the keepAlive's deadline.
  h.sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 3600, times: 1 });
  expect(await h.runtime.graph.keepAlive(call.id)).toMatchObject({
    ok: false,
    status: 429,
    message: expect.stringMatching(/Retry-After 3600 runs past the deadline/),
  });
});

/** A plain loopback server answering every request with `reply`, and the requests it got. */
async function serve(
  reply: (res: import('node:http').ServerResponse) => void,
): Promise<{ url: string; got: Array<{ headers: object; body: string }> }> {
  const got: Array<{ headers: object; body: string }> = [];
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      reply(res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1.0/x`, got };
}

function contextFor(request: Context['request'], options: RequestInit): Context {
  return { request, options };
}

it('gives the client a standard Response: no body for 204, every value of a repeated header', async () => {
  const { url, got } = await serve((res) => {
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.setHeader('request-id', 'r-1');
    res.writeHead(204).end();
  });
  const context = contextFor(url, { method: 'POST', headers: new Headers({ 'Content-Type': 'application/json' }), body: '{"a":1}' });

  await new NodeHttpRequestHandler().execute(context);

  expect(context.response).toBeInstanceOf(Response);
  expect(context.response!.status).toBe(204);
  expect(context.response!.body).toBeNull();
  expect(context.response!.headers.get('request-id')).toBe('r-1');
  expect(context.response!.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  expect(got).toEqual([{ headers: expect.objectContaining({ 'content-type': 'application/json' }), body: '{"a":1}' }]);
});

it('sends a bodiless POST (a keepAlive) with a zero length, not chunked', async () => {
  const { url, got } = await serve((res) => res.writeHead(200).end());
  const context = contextFor(url, { method: 'POST', headers: { Authorization: 'Bearer t' } });

  await new NodeHttpRequestHandler().execute(context);

  expect(context.response!.status).toBe(200);
  expect(got[0]!.headers).toMatchObject({ 'content-length': '0', authorization: 'Bearer t' });
  expect(got[0]!.headers).not.toHaveProperty('transfer-encoding');
});

it('gives the status when the connection drops in the middle of a body, and fails on reading it, as fetch does', async () => {
  const { url } = await serve((res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('{"partial":');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const context = contextFor(url, { method: 'GET' });

  await new NodeHttpRequestHandler().execute(context);

  expect(context.response!.status).toBe(200);
  await expect(context.response!.text()).rejects.toThrow();
});

it('rejects with the signal’s reason when the deadline ends the request, as fetch does', async () => {
  const { url } = await serve(() => undefined); // never answers
  const reason = new DOMException('the answer deadline passed', 'TimeoutError');
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 50);

  await expect(new NodeHttpRequestHandler().execute(contextFor(url, { method: 'POST', signal: controller.signal }))).rejects.toBe(reason);
});

it('refuses what it cannot send, with an error that says what', async () => {
  const handler = new NodeHttpRequestHandler();
  await expect(handler.execute(contextFor(new Request('http://127.0.0.1:1/'), {}))).rejects.toThrow(/requests given by URL only/);
  await expect(handler.execute(contextFor('http://127.0.0.1:1/', { method: 'POST', body: new Blob(['x']) }))).rejects.toThrow(
    /cannot send a \[object Blob\] body/,
  );
});

it('closes a connection it has not used for its idle time, before the server would', async () => {
  const { url } = await serve((res) => res.writeHead(200).end());
  // A server that never closes idle connections itself: only the client's idle timeout can.
  (server as Server).keepAliveTimeout = 0;
  const closed = new Promise<string>((resolve) =>
    (server as Server).once('connection', (socket: Socket) => socket.on('close', () => resolve('closed by the client'))),
  );

  await new NodeHttpRequestHandler(100).execute(contextFor(url, { method: 'POST' }));

  // Generous: the client closes after 100 ms; without an idle timeout it would never close.
  const stillOpen = new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000).unref());
  expect(await Promise.race([closed, stillOpen])).toBe('closed by the client');
});

/**
 * A raw HTTP/1.1 server that answers the first request on each connection and, on a second one,
 * closes the connection without answering: a kept-alive connection lost to the race with the
 * server's idle timeout.
 */
async function closingOnReuse(): Promise<{ baseUrl: string; requests: () => number; connections: () => number }> {
  let requests = 0;
  let connections = 0;
  server = createTcpServer((socket) => {
    connections++;
    rawConnections.add(socket);
    let onThisConnection = 0;
    socket.on('data', (chunk: Buffer) => {
      // Each request here has no body and arrives in one piece.
      for (const _ of chunk.toString('latin1').matchAll(/\r\n\r\n/g)) {
        requests++;
        if (++onThisConnection === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n');
        else socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1.0`,
    requests: () => requests,
    connections: () => connections,
  };
}

const token = { getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) };

it('sends a keepAlive again at once, on a new connection, when its kept-alive connection closed before any answer', async () => {
  const graphServer = await closingOnReuse();
  const graph = new GraphClientCalls(createGraphClient(graphServer.baseUrl, token));

  expect(await graph.keepAlive('call-1')).toEqual({ ok: true });
  expect(await graph.keepAlive('call-1')).toEqual({ ok: true });

  expect(graphServer.requests()).toBe(3);
  expect(graphServer.connections()).toBe(2);
});

it('does not send an answer again on that ground: whether Graph acted is unknown', async () => {
  const graphServer = await closingOnReuse();
  const graph = new GraphClientCalls(createGraphClient(graphServer.baseUrl, token));

  expect(await graph.keepAlive('call-1')).toEqual({ ok: true });
  const answered = await graph.answer('call-2', answerRequest('https://bot.example.test/api/calls'));

  expect(answered).toMatchObject({ ok: false, status: undefined, code: 'StaleConnection' });
  expect(graphServer.requests()).toBe(2);
});

it("keeps Graph's 429 and its Retry-After when the error body breaks off", async () => {
  server = createTcpServer((socket) => {
    rawConnections.add(socket);
    socket.once('data', () => {
      socket.write(
        'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"error":',
      );
      setTimeout(() => socket.destroy(), 20);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const graph = new GraphClientCalls(createGraphClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1.0`, token));

  expect(await graph.keepAlive('call-1')).toMatchObject({
    ok: false,
    status: 429,
    message: expect.stringMatching(/Retry-After 3600 runs past the deadline/),
  });
});
