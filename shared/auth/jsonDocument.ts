import https from 'node:https';
import { exchange, type Exchanged } from '../graph/nodeHttpRequestHandler.js';

// `fetch` follows up to 20 redirects; a signer's metadata moving needs a few at most.
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// The OpenID configuration and the key set it names come from one host, one after the other: a
// kept-alive connection serves both. Closed after 4 s idle, as `fetch`'s are (the next reload is
// an hour away).
const agent = new https.Agent({ keepAlive: true, timeout: 4_000 });
// fetch sends a User-Agent too; a front end may turn away a request without one.
const REQUEST_HEADERS = { accept: 'application/json', 'user-agent': 'teams-calling-bot-functions (node:https)' };

/**
 * GETs a JSON document over https, following redirects (to https only), and parses it. Sent as
 * the Graph client sends its requests (`exchange`, over `node:https`) rather than with `fetch`:
 * the first `fetch` in a process costs about 12 ms more CPU (undici's client and its WebAssembly
 * HTTP parser), which a cold instance pays before its first answer, as the signing keys are
 * fetched then (docs/performance.md). Errors name `what` and `url`.
 */
export async function getJsonDocument(url: string, what: string, signal: AbortSignal): Promise<unknown> {
  let current = new URL(url);
  for (let redirects = 0; ; redirects++) {
    let answer: Exchanged;
    try {
      answer = await exchange(current, { method: 'GET', headers: REQUEST_HEADERS, signal, agent });
      // A body cut off (the deadline, a reset) fails the read; it is not taken as a short document.
      if ('error' in answer.body) throw answer.body.error;
    } catch (error) {
      const reason = signal.aborted ? 'no answer in time' : error instanceof Error ? error.message : String(error);
      throw new Error(`${what} ${url} could not be fetched: ${reason}`);
    }
    const location = headerOf(answer, 'location');
    if (REDIRECT_STATUSES.has(answer.status) && location !== undefined) {
      if (redirects === MAX_REDIRECTS) throw new Error(`${what} ${url} was redirected more than ${MAX_REDIRECTS} times`);
      const next = URL.parse(location, current);
      if (next === null) throw new Error(`${what} ${url} was redirected to ${location}, which is not a URL`);
      current = next;
      // A redirect to plain http would undo the https the settings insist on.
      if (current.protocol !== 'https:') throw new Error(`${what} ${url} was redirected to ${current.href}, which is not https`);
      continue;
    }
    if (answer.status !== 200) throw new Error(`${what} ${url} answered ${answer.status}`);
    try {
      // As fetch's json() does, a byte order mark before the document is not part of it.
      return JSON.parse(answer.body.text.replace(/^\uFEFF/, '')) as unknown;
    } catch (error) {
      throw new Error(`${what} ${url} could not be read: not JSON`, { cause: error });
    }
  }
}

/** The first value of header `name` (lower case) in the answer's raw headers. */
function headerOf({ rawHeaders }: Exchanged, name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}
