import type { AccessToken, TokenCredential } from '@azure/identity';
import {
  Client,
  type Context,
  GraphClientError,
  type Middleware,
  RedirectHandler,
  RedirectHandlerOptions,
  TelemetryHandler,
} from '@microsoft/microsoft-graph-client';
import type { AppConfig } from '../config.js';
import { LazyTokenCredential } from '../lazyCredential.js';
import { CachedTokenCredential } from './cachedTokenCredential.js';
import { NodeHttpRequestHandler } from './nodeHttpRequestHandler.js';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

// The audience of a managed identity's token used as a federated client assertion in the public
// cloud (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity).
export const FEDERATED_ASSERTION_SCOPE = 'api://AzureADTokenExchange/.default';

/**
 * One credential per process: it caches its token, so sharing it avoids a token request per call.
 * The bot signs in as its app registration with a secret, or, without one, with its managed identity
 * (shared with storage access) as a federated credential of that registration. `@azure/identity`
 * is loaded on the first token request (see `LazyTokenCredential`).
 */
export function createGraphCredential(bot: AppConfig['bot'], managedIdentity: () => TokenCredential): TokenCredential {
  if (bot.graphAuth === 'managedIdentity') return managedIdentity();
  // A configured authority (national or private cloud, or the local Graph simulator) is trusted
  // as given: instance discovery would ask the public cloud about it.
  const authority = bot.authorityHost === undefined ? {} : { authorityHost: bot.authorityHost, disableInstanceDiscovery: true };
  return new LazyTokenCredential(async () => {
    const { ClientAssertionCredential, ClientSecretCredential } = await import('../identityCredentials.js');
    return bot.graphAuth === 'federated'
      ? new ClientAssertionCredential(bot.tenantId, bot.appId, () => federatedAssertion(managedIdentity()), authority)
      : new ClientSecretCredential(bot.tenantId, bot.appId, bot.appSecret!, authority);
  });
}

async function federatedAssertion(identity: TokenCredential): Promise<string> {
  const token = await identity.getToken(FEDERATED_ASSERTION_SCOPE);
  if (!token) throw new Error('the managed identity gave no token for the federated credential');
  return token.token;
}

/**
 * A Graph client on the default middleware chain without its retry handler (auth, redirect,
 * telemetry). The retry handler re-POSTs after 503/504, which for a non-idempotent answer or create
 * turns "done, but the gateway said 504" into a refused repeat, and it sleeps for Retry-After
 * without looking at the request's deadline. `GraphClientCalls` retries instead, per operation
 * (see `retryPolicy.ts`). Requests go out through `node:https`, not `fetch` (see
 * `NodeHttpRequestHandler`).
 */
export function createGraphClient(graphBaseUrl: string, credential: TokenCredential): Client {
  const url = new URL(graphBaseUrl);
  const cached = credential instanceof CachedTokenCredential ? credential : new CachedTokenCredential(credential);
  return Client.initWithMiddleware({
    middleware: [
      new BearerTokenBeforeDeadline(cached, url.hostname),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new NodeHttpRequestHandler(),
    ],
    baseUrl: url.origin,
    defaultVersion: url.pathname.replace(/^\/+|\/+$/g, ''),
    // The client attaches the bearer token only to Graph's own hosts and to these (https only),
    // so a non-default GRAPH_BASE_URL (a national cloud, the test simulator) must be listed.
    customHosts: new Set([url.hostname]),
  });
}

/**
 * No request reached Graph: there was no token to send it with, or its deadline passed while one
 * was fetched. Unlike a lost answer this is certain, so a non-idempotent request (answer, create)
 * is known not to be done. A `GraphClientError`: the Graph client passes those on unwrapped.
 */
export class GraphRequestNotSent extends GraphClientError {
  constructor(message: string) {
    super(message);
    // GraphClientError's constructor sets its own prototype on the instance: set this class's back.
    Object.setPrototypeOf(this, GraphRequestNotSent.prototype);
    this.name = 'GraphRequestNotSent';
  }
}

/**
 * Puts the bot's token on each request to Graph, waited for no longer than the request's own
 * deadline (its abort signal): a token endpoint that hangs must not hold an answer past Graph's
 * answer window, nor a keepAlive past the sweep's budget. A request with no token, or whose
 * deadline passed while its token was fetched, is not sent, and says so (`GraphRequestNotSent`)
 * rather than reading as a timeout that may or may not have reached Graph. Only the configured
 * Graph host gets the token, as with the Graph client's own `AuthenticationHandler`, which this
 * replaces: that one neither takes the request's signal nor stops once it fired, and its
 * `TokenCredentialAuthenticationProvider` builds an error with a stack trace on every request, a few
 * percent of a busy sweep's CPU (docs/performance.md).
 */
class BearerTokenBeforeDeadline implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly credential: TokenCredential,
    private readonly graphHost: string,
  ) {}

  async execute(context: Context): Promise<void> {
    if (typeof context.request === 'string' && new URL(context.request).hostname === this.graphHost) {
      const signal = context.options?.signal ?? undefined;
      const token = await this.tokenBefore(signal);
      if (signal?.aborted) throw pastDeadline(signal);
      const options = (context.options ??= {});
      if (options.headers instanceof Headers) options.headers.set('Authorization', `Bearer ${token}`);
      else options.headers = { ...(options.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` };
    }
    await this.next!.execute(context);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }

  private async tokenBefore(signal: AbortSignal | undefined): Promise<string> {
    let token: AccessToken | null;
    try {
      token = await this.credential.getToken(GRAPH_SCOPE, { abortSignal: signal });
    } catch (error) {
      if (signal?.aborted) throw pastDeadline(signal);
      throw new GraphRequestNotSent(`no Graph token: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!token) throw new GraphRequestNotSent(`no Graph token: the credential gave none for ${GRAPH_SCOPE}`);
    return token.token;
  }
}

function pastDeadline(signal: AbortSignal): GraphRequestNotSent {
  const reason: unknown = signal.reason;
  return new GraphRequestNotSent(
    `the deadline passed while the Graph token was fetched (${reason instanceof Error ? reason.message : 'aborted'})`,
  );
}
