import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

/**
 * A stand-in for the Microsoft services the bot talks to, over real HTTPS on loopback:
 * - Graph's cloud-communications calls API, behaving as Graph's documentation says (answer 202, reject 202,
 *   keepAlive 200 while the call lives and 404 after, create 201 with meeting-join bodies checked,
 *   delete 204 followed by a terminated notification), plus roster notifications and terminations
 *   with a chosen resultInfo;
 * - an Entra ID token endpoint, so the app's real `ClientSecretCredential` gets its Graph token here;
 * - the notification signer: an OpenID configuration and JWKS, and tokens signed with its key.
 * Faults (429 with Retry-After, 4xx/5xx with a chosen Graph error code) and latency can be injected,
 * on the signer's two documents too (status, latency, a broken body, an http jwks_uri); every
 * request is recorded.
 */

export type SimCallState = 'incoming' | 'establishing' | 'established' | 'terminated';

export interface SimCall {
  id: string;
  state: SimCallState;
  direction: 'incoming' | 'outgoing';
  tenantId: string;
  answerRequests: unknown[];
  keepAlives: number;
  body?: Record<string, unknown>;
  /** The bot's participant id in the call (create answer: myParticipantId). */
  myParticipantId?: string;
  rejectReason?: string;
  /** Where Graph posts this call's notifications; repeated in each of them. */
  callbackUri?: string;
  /** playPrompt requests, in order, with the operation each started. */
  prompts?: { operationId: string; body: unknown }[];
  toneSubscribed?: boolean;
  /** The last key press's sequenceId. */
  toneSequence?: number;
}

/** Where Azure Monitor's exporter posts telemetry under a connection string's `IngestionEndpoint`. */
const INGESTION_PATH = '/v2.1/track';

/** One item of telemetry as Azure Monitor's exporter sends it (an envelope of the Breeze API). */
export interface TelemetryItem {
  name?: string;
  data?: { baseType?: string; baseData?: Record<string, unknown> };
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
  receivedAt: number;
  status: number;
  /** With an `afterWork` fault: the status Graph's work had before the fault replaced it. */
  workStatus?: number;
}

export interface Fault {
  status: number;
  retryAfterSeconds?: number;
  /** How many matching requests fail; Infinity for a persistent fault. */
  times: number;
  /** Graph's error code and message in the body; a generic one when absent. */
  code?: string;
  message?: string;
  /**
   * Graph does the work and then the fault is what reaches the bot (a gateway's 504 after the
   * answer went through, a response lost on the way): the ambiguous outcome of a non-idempotent POST.
   */
  afterWork?: boolean;
}

type FaultRule = Fault & { action: GraphAction };

/** The notification signer's two documents: the OpenID configuration, and the key set it names. */
export type SignerDocument = 'openIdConfig' | 'jwks';

export interface SignerFault {
  /** The status to answer with; 200 with `body` serves a broken document. */
  status: number;
  /** Sent as is in place of the usual error body (e.g. text that is not JSON). */
  body?: string;
  /** How long to wait before answering (a slow or hanging endpoint). */
  latencyMs?: number;
  /** How many requests for the document fail; Infinity for a persistent fault. */
  times: number;
  /** With a 3xx status: the redirect's Location. */
  location?: string;
}

const SIGNER_PATHS: Record<SignerDocument, string> = {
  openIdConfig: '/botframework/.well-known/openidconfiguration',
  jwks: '/botframework/keys',
};
export type GraphAction = 'answer' | 'keepAlive' | 'create' | 'delete' | 'reject' | 'get' | 'playPrompt' | 'subscribeToTone';

export type NotificationSink = (body: Record<string, unknown>, authorization: string) => Promise<void>;

export const SIM_BOT_APP_ID = '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50';
export const SIM_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

export class GraphSimulator {
  readonly calls = new Map<string, SimCall>();
  readonly requests: RecordedRequest[] = [];
  latencyMs = 0;
  inFlight = 0;
  peakInFlight = 0;
  /** Where notifications the simulator originates (e.g. after a hang-up) are delivered. */
  onNotification: NotificationSink | undefined;
  /**
   * Runs after Graph has made a call for a create and before its 201 goes back: Graph's first
   * notifications may reach the bot before the create's answer does.
   */
  beforeCreateReply: ((call: SimCall) => Promise<void>) | undefined;
  /** A jwks_uri for the OpenID configuration to name instead of the simulator's own (e.g. an http one). */
  jwksUriOverride: string | undefined;
  /** Told of each Graph request as it arrives, before latency or faults: lets a test act at an exact point. */
  onGraphRequest: ((action: GraphAction, callId: string | undefined) => void) | undefined;
  /**
   * How a prompt ends once playPrompt is accepted: its operation notification is sent at once with
   * this status, or with `held` not until `finishPrompt` is called.
   */
  promptOutcome: 'completed' | 'failed' | 'held' = 'completed';
  /**
   * How playPrompt answers: `running` (then the operation notification), or `completed` at once,
   * which Graph may do (https://learn.microsoft.com/en-us/graph/api/resources/commsoperation), and
   * then no notification follows.
   */
  promptAnswer: 'running' | 'completed' = 'running';
  /** Latency of the token endpoint (a slow Entra token service). */
  tokenLatencyMs = 0;
  /**
   * Delay before the ingestion endpoint answers (an Application Insights that does not answer in
   * time). The wait does not keep the process alive.
   */
  ingestionLatencyMs = 0;
  /** Latency of one kind of request, in place of `latencyMs` (a slow endpoint among quick ones). */
  readonly latencyFor: Partial<Record<GraphAction, number>> = {};

  private server: Server | undefined;
  private readonly faults: FaultRule[] = [];
  private readonly signerFaults: (SignerFault & { document: SignerDocument })[] = [];
  private readonly issuedGraphTokens = new Set<string>();
  private signingKey: { privateKey: CryptoKey; kid: string; jwk: Record<string, unknown> } | undefined;
  private port = 0;
  private readonly deliveries = new Set<Promise<void>>();

  constructor(private readonly tls: { cert: string; key: string }) {}

  get origin(): string {
    return `https://127.0.0.1:${this.port}`;
  }
  get graphBaseUrl(): string {
    return `${this.origin}/v1.0`;
  }
  get openIdConfigUrl(): string {
    return `${this.origin}/botframework/.well-known/openidconfiguration`;
  }
  /** Use as AZURE_AUTHORITY_HOST so client-secret credentials fetch tokens from here. */
  get authorityHost(): string {
    return this.origin;
  }

  /** Listens on 127.0.0.1 at `port`; 0 (the tests' choice) takes a free one. */
  async start(port = 0): Promise<this> {
    await this.rotateSigningKey();
    this.server = createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      void this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  // ---- scenario controls -------------------------------------------------------------------

  /** A caller rings the bot: the call exists at Graph in state `incoming`. */
  placeIncomingCall(options: { id?: string; tenantId?: string } = {}): SimCall {
    const call: SimCall = {
      id: options.id ?? randomUUID(),
      state: 'incoming',
      direction: 'incoming',
      tenantId: options.tenantId ?? SIM_TENANT_ID,
      answerRequests: [],
      keepAlives: 0,
    };
    this.calls.set(call.id, call);
    return call;
  }

  /** The call the bot created most recently (a join or a rejoin). */
  lastCreatedCall(): SimCall | undefined {
    return [...this.calls.values()].filter((c) => c.direction === 'outgoing').at(-1);
  }

  /** The call ends on Graph's side without the bot being told (e.g. a lost notification). */
  endCallSilently(id: string): void {
    const call = this.calls.get(id);
    if (call) call.state = 'terminated';
  }

  /** Graph ends the call with the given resultInfo and tells the bot; resolves once the bot has handled it. */
  async terminate(id: string, resultInfo: { code: number; subcode: number; message: string }): Promise<void> {
    const call = this.calls.get(id);
    if (call) call.state = 'terminated';
    await this.notify(this.fromCall(terminatedNotification(id, resultInfo), call));
  }

  /** A state notification for a call, as Graph sends it (with the call's callbackUri and meeting). */
  async sendState(id: string, state: 'establishing' | 'established'): Promise<void> {
    const call = this.calls.get(id);
    if (call && call.state !== 'terminated') call.state = state;
    const meeting = call?.body ? { chatInfo: call.body['chatInfo'], meetingInfo: call.body['meetingInfo'] } : {};
    await this.notify(this.fromCall(stateNotification(id, state, meeting), call));
  }

  /** The body as Graph sends it for this call: with the call's callbackUri in each notification (create-call doc, "Notification - establishing"). */
  fromCall(body: Record<string, unknown>, call: SimCall | undefined): Record<string, unknown> {
    if (!call?.callbackUri) return body;
    const value = (body['value'] as Record<string, unknown>[]).map((n) => ({ ...n, callbackUri: call.callbackUri }));
    return { ...body, value };
  }

  /**
   * A roster notification for the call: the bot plus `others` people (https://learn.microsoft.com/en-us/graph/api/application-post-calls,
   * "Notification - roster"); resolves once the bot has handled it.
   */
  async sendRoster(id: string, others: number): Promise<void> {
    const call = this.calls.get(id);
    const bot = rosterParticipant(call?.myParticipantId ?? randomUUID(), {
      application: { displayName: 'Calling Bot', id: SIM_BOT_APP_ID },
    });
    const people = Array.from({ length: others }, (_, i) =>
      rosterParticipant(randomUUID(), { user: { displayName: `Person ${i + 1}`, id: randomUUID() } }),
    );
    await this.notify(this.fromCall(rosterNotification(id, [...people, bot]), call));
  }

  /** The callee picks up a call the bot placed: Graph reports it established. */
  async answerOutgoing(id: string): Promise<void> {
    await this.sendState(id, 'established');
  }

  /**
   * The callee never picks up: Graph gives up and ends the call with the reason it documents for
   * that, 408/10057 (https://learn.microsoft.com/en-us/graph/api/call-delete, "Call end reason codes").
   */
  async ringUnanswered(id: string): Promise<void> {
    await this.terminate(id, { code: 408, subcode: 10057, message: 'Call timed out due to no signaling from callee endpoints.' });
  }

  /** The callee presses a key (`tone0`…`tone9`, `star`, `pound`, …): a call notification with toneInfo, once subscribed. */
  async pressKey(id: string, tone: string): Promise<void> {
    const call = this.calls.get(id);
    if (!call?.toneSubscribed) throw new Error(`call ${id} has no tone subscription: Graph would not report the key`);
    call.toneSequence = (call.toneSequence ?? 0) + 1;
    const body = stateNotification(id, 'established', {
      toneInfo: { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: call.toneSequence, tone },
    });
    await this.notify(this.fromCall(body, call));
  }

  /** Ends the call's latest prompt with `status`: Graph's operation notification (changeType `deleted`). */
  async finishPrompt(id: string, status: 'completed' | 'failed'): Promise<void> {
    const call = this.calls.get(id);
    const operation = call?.prompts?.at(-1);
    if (!call || !operation) throw new Error(`call ${id} has no prompt to finish`);
    await this.notify(this.fromCall(promptOperationNotification(id, operation.operationId, status, id), call));
  }

  /** Resolves once every notification the simulator started on its own (e.g. after a hang-up) was handled. */
  async idle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  failNext(action: GraphAction, fault: Fault): void {
    this.faults.push({ ...fault, action });
  }

  clearFaults(): void {
    this.faults.length = 0;
    this.signerFaults.length = 0;
  }

  /** The next `fault.times` requests for the signer's OpenID configuration or JWKS fail this way. */
  failSigner(document: SignerDocument, fault: SignerFault): void {
    this.signerFaults.push({ ...fault, document });
  }

  signerRequests(document: SignerDocument): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path === SIGNER_PATHS[document]);
  }

  /**
   * App settings that configure Application Insights with this simulator as its ingestion (and
   * live metrics) endpoint, and keep the distribution's other requests on loopback: statsbeat,
   * which reports to a fixed Microsoft endpoint, off; an App Service site name, so the
   * distribution skips its probe of the VM metadata service; and a proxy that refuses, for the
   * exporter's poll of its settings service (no setting turns that off), with loopback exempt.
   */
  appInsightsSettings(): Record<string, string> {
    return {
      APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${randomUUID()};IngestionEndpoint=${this.origin}/;LiveEndpoint=${this.origin}/`,
      APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
      WEBSITE_SITE_NAME: 'calling-bot-simulated',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
    };
  }

  /**
   * The telemetry items an app sent here as Application Insights' ingestion endpoint (its
   * connection string's `IngestionEndpoint`), each an envelope of the Breeze API as sent.
   */
  telemetryItems(): TelemetryItem[] {
    return this.requests
      .filter((r) => r.method === 'POST' && r.path === INGESTION_PATH)
      .flatMap((r) => (Array.isArray(r.body) ? (r.body as TelemetryItem[]) : []));
  }

  /** Requests for a Graph token (the Entra token endpoint). */
  tokenRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && /\/oauth2\/v2\.0\/token$/.test(r.path));
  }

  requestsTo(action: GraphAction, callId?: string): RecordedRequest[] {
    return this.requests.filter((r) => actionOf(r.method, r.path)?.action === action && (!callId || r.path.includes(callId)));
  }

  // ---- notification signing ----------------------------------------------------------------

  /** Replaces the notification signing key (and the key the JWKS serves), as a key rollover would. */
  async rotateSigningKey(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `sim-${randomUUID()}`;
    this.signingKey = { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' } };
  }

  /** A notification token as Graph would send it; `overrides` change claims, `header` the JOSE header. */
  async notificationToken(
    overrides: JWTPayload = {},
    header: Record<string, unknown> = {},
    key: CryptoKey | undefined = undefined,
  ): Promise<string> {
    const signing = this.signingKey!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: BOT_FRAMEWORK_ISSUER,
      aud: SIM_BOT_APP_ID,
      tid: SIM_TENANT_ID,
      iat: now,
      nbf: now,
      exp: now + 3600,
      ...overrides,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signing.kid, ...header })
      .sign(key ?? signing.privateKey);
  }

  /** Delivers a notification body to the bot through `onNotification`, signed like Graph's. */
  async notify(body: Record<string, unknown>): Promise<void> {
    if (!this.onNotification) throw new Error('GraphSimulator.onNotification is not set');
    await this.onNotification(body, `Bearer ${await this.notificationToken()}`);
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const body = parseJsonBody(raw);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      authorization: req.headers.authorization,
      body,
      receivedAt: Date.now(),
      status: 0,
    };
    this.requests.push(record);
    const reply = (status: number, json?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      const text = json === undefined ? '' : JSON.stringify(json);
      res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
      res.end(text);
    };

    // Token service and notification signer.
    if (method === 'GET' && /\/v2\.0\/\.well-known\/openid-configuration$/.test(url.pathname)) {
      const tenant = url.pathname.split('/')[1];
      return reply(200, {
        token_endpoint: `${this.origin}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${this.origin}/${tenant}/oauth2/v2.0/authorize`,
        issuer: `${this.origin}/${tenant}/v2.0`,
        jwks_uri: `${this.origin}/${tenant}/discovery/v2.0/keys`,
        end_session_endpoint: `${this.origin}/${tenant}/oauth2/v2.0/logout`,
        response_types_supported: ['code', 'token'],
      });
    }
    if (method === 'POST' && /\/oauth2\/v2\.0\/token$/.test(url.pathname)) {
      if (this.tokenLatencyMs > 0) await new Promise((r) => setTimeout(r, this.tokenLatencyMs));
      const token = `sim-graph-token-${randomUUID()}`;
      this.issuedGraphTokens.add(token);
      return reply(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
    }
    const signerDocument = (Object.keys(SIGNER_PATHS) as SignerDocument[]).find((d) => SIGNER_PATHS[d] === url.pathname);
    if (method === 'GET' && signerDocument) {
      const fault = this.signerFaults.find((f) => f.document === signerDocument && f.times > 0);
      if (fault) {
        fault.times--;
        if (fault.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
        if (fault.body !== undefined) {
          record.status = fault.status;
          res.writeHead(fault.status, { 'content-type': 'application/json' }).end(fault.body);
          return;
        }
        // A 200 fault is only slow: the document itself follows.
        if (fault.status !== 200) {
          const headers: Record<string, string> = fault.location === undefined ? {} : { location: fault.location };
          return reply(fault.status, { error: `Injected fault on the ${signerDocument} document` }, headers);
        }
      }
      if (signerDocument === 'openIdConfig') {
        return reply(200, { issuer: BOT_FRAMEWORK_ISSUER, jwks_uri: this.jwksUriOverride ?? `${this.origin}${SIGNER_PATHS.jwks}` });
      }
      return reply(200, { keys: [this.signingKey!.jwk] });
    }

    // Application Insights' ingestion: accepts every item (the exporter sends plain JSON to a host
    // outside Azure Monitor's own domains, gzip only to those).
    if (method === 'POST' && url.pathname === INGESTION_PATH) {
      if (this.ingestionLatencyMs > 0) await new Promise((r) => setTimeout(r, this.ingestionLatencyMs).unref());
      const items = Array.isArray(body) ? body.length : 0;
      return reply(200, { itemsReceived: items, itemsAccepted: items, errors: [] });
    }

    const action = actionOf(method, url.pathname);
    if (!action) return reply(404, graphError('UnknownRoute', `${method} ${url.pathname}`));
    this.onGraphRequest?.(action.action, action.callId);

    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      const latency = this.latencyFor[action.action] ?? this.latencyMs;
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !this.issuedGraphTokens.has(bearer)) {
        return reply(401, graphError('InvalidAuthenticationToken', 'Access token is empty or invalid.'));
      }
      const fault = this.faults.find((f) => f.action === action.action && f.times > 0);
      if (fault) {
        fault.times--;
        const headers: Record<string, string> =
          fault.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterSeconds) };
        const failWith = () =>
          reply(fault.status, graphError(fault.code ?? `Simulated${fault.status}`, fault.message ?? 'Injected fault'), headers);
        if (!fault.afterWork) return failWith();
        // The route's effects happen; only its reply is replaced by the fault.
        return this.graphRoute(action, body, (status) => {
          record.workStatus = status;
          failWith();
        });
      }
      return this.graphRoute(action, body, reply);
    } finally {
      this.inFlight--;
    }
  }

  private graphRoute(
    { action, callId }: { action: GraphAction; callId: string | undefined },
    body: unknown,
    reply: (status: number, json?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const call = callId ? this.calls.get(callId) : undefined;
    const live = call !== undefined && call.state !== 'terminated';
    const notFound = () => reply(404, graphError('itemNotFound', `Call ${callId} was not found`));
    switch (action) {
      case 'answer': {
        if (!live) return notFound();
        if (!isValidAnswer(body)) return reply(400, graphError('BadRequest', 'Invalid answer request body'));
        const capacity = (body as Record<string, unknown>)['participantCapacity'];
        if (capacity !== undefined && (!Number.isInteger(capacity) || (capacity as number) < 1)) {
          return reply(400, graphError('BadRequest', 'participantCapacity must be a positive integer'));
        }
        if (call.state !== 'incoming') return reply(409, graphError('Conflict', 'Call was already answered'));
        call.answerRequests.push(body);
        call.state = 'establishing';
        return reply(202);
      }
      case 'reject': {
        if (!live) return notFound();
        const reason = (body as Record<string, unknown> | undefined)?.['reason'];
        if (reason !== undefined && !['none', 'busy', 'forbidden'].includes(reason as string)) {
          return reply(400, graphError('BadRequest', `Invalid reject reason ${JSON.stringify(reason)}`));
        }
        if (call.state !== 'incoming') return reply(409, graphError('Conflict', 'Only an incoming call can be rejected'));
        call.state = 'terminated';
        call.rejectReason = (reason as string | undefined) ?? 'none';
        return reply(202);
      }
      case 'keepAlive':
        if (!live) return notFound();
        call.keepAlives++;
        return reply(200);
      case 'create': {
        const request = body as Record<string, unknown> | undefined;
        if (!request || typeof request['callbackUri'] !== 'string' || !request['mediaConfig']) {
          return reply(400, graphError('BadRequest', 'callbackUri and mediaConfig are required'));
        }
        const invalid = request['meetingInfo'] ? joinProblem(request) : outgoingProblem(request);
        if (invalid) return reply(400, graphError('BadRequest', invalid));
        const created: SimCall = {
          id: randomUUID(),
          state: 'establishing',
          direction: 'outgoing',
          tenantId: typeof request['tenantId'] === 'string' ? request['tenantId'] : SIM_TENANT_ID,
          answerRequests: [],
          keepAlives: 0,
          body: request,
          myParticipantId: randomUUID(),
          callbackUri: request['callbackUri'],
        };
        this.calls.set(created.id, created);
        const answer = () =>
          reply(
            201,
            {
              '@odata.type': '#microsoft.graph.call',
              ...request,
              id: created.id,
              state: 'establishing',
              direction: 'outgoing',
              myParticipantId: created.myParticipantId,
            },
            { Location: `${this.graphBaseUrl}/communications/calls/${created.id}` },
          );
        const early = this.beforeCreateReply;
        if (!early) return answer();
        void early(created).then(answer, answer);
        return;
      }
      case 'playPrompt': {
        if (!live) return notFound();
        const request = body as Record<string, unknown> | undefined;
        const prompts = request?.['prompts'];
        const first = Array.isArray(prompts) ? (prompts[0] as Record<string, unknown> | undefined) : undefined;
        const mediaInfo = first?.['mediaInfo'] as Record<string, unknown> | undefined;
        if (
          !Array.isArray(prompts) ||
          prompts.length < 1 ||
          prompts.length > 20 ||
          first?.['@odata.type'] !== '#microsoft.graph.mediaPrompt' ||
          typeof mediaInfo?.['uri'] !== 'string'
        ) {
          return reply(400, graphError('BadRequest', 'prompts must hold 1 to 20 mediaPrompt with mediaInfo.uri'));
        }
        const clientContext = typeof request?.['clientContext'] === 'string' ? request['clientContext'] : undefined;
        const operationId = randomUUID();
        (call.prompts ??= []).push({ operationId, body });
        const status = this.promptAnswer;
        reply(200, { '@odata.type': '#microsoft.graph.playPromptOperation', id: operationId, status, clientContext });
        if (status === 'completed') return;
        const outcome = this.promptOutcome;
        if (outcome !== 'held')
          this.later(() => this.notify(this.fromCall(promptOperationNotification(call.id, operationId, outcome, clientContext), call)));
        return;
      }
      case 'subscribeToTone':
        if (!live) return notFound();
        call.toneSubscribed = true;
        return reply(200, {
          '@odata.type': '#microsoft.graph.subscribeToToneOperation',
          id: randomUUID(),
          status: 'completed',
          clientContext: (body as Record<string, unknown> | undefined)?.['clientContext'],
        });
      case 'get':
        if (!live) return notFound();
        return reply(200, { '@odata.type': '#microsoft.graph.call', id: call.id, state: call.state, direction: call.direction });
      case 'delete': {
        if (!live) return notFound();
        call.state = 'terminated';
        reply(204);
        // Graph confirms a hang-up with a terminated notification.
        this.later(() =>
          this.notify(
            this.fromCall(terminatedNotification(call.id, { code: 200, subcode: 7000, message: 'Call ended by the application' }), call),
          ),
        );
        return;
      }
    }
  }

  /** A notification Graph sends on its own after answering a request; `idle()` waits for it. */
  private later(send: () => Promise<void>): void {
    const delivery = new Promise<void>((resolve) => setImmediate(resolve)).then(send).finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
  }
}

// ---- notification bodies, as the Graph docs show them (https://learn.microsoft.com/en-us/graph/api/resources/commsnotifications) ----

export function incomingCallNotification(callId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return notificationBody('created', `/communications/calls/${callId}`, {
    '@odata.type': '#microsoft.graph.call',
    '@odata.id': `/communications/calls/${callId}`,
    state: 'incoming',
    direction: 'incoming',
    source: {
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: { user: { displayName: 'Test User', id: '8A34A46B-3D17-4ADC-8DCE-DC4E7D572698' } },
      region: 'westus',
      languageId: 'en-US',
    },
    targets: [
      {
        '@odata.type': '#microsoft.graph.invitationParticipantInfo',
        identity: { application: { displayName: 'Test BOT', id: SIM_BOT_APP_ID } },
      },
    ],
    requestedModalities: ['audio'],
    ...extra,
  });
}

export function stateNotification(callId: string, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return notificationBody('updated', `/communications/calls/${callId}`, {
    '@odata.type': '#microsoft.graph.call',
    '@odata.id': `/communications/calls/${callId}`,
    state,
    ...extra,
  });
}

export function terminatedNotification(
  callId: string,
  resultInfo: { code: number; subcode: number; message: string },
): Record<string, unknown> {
  return notificationBody('deleted', `/communications/calls/${callId}`, {
    '@odata.type': '#microsoft.graph.call',
    '@odata.id': `/communications/calls/${callId}`,
    state: 'terminated',
    resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', ...resultInfo },
  });
}

/**
 * The end of a playPrompt operation, as the call-playprompt page shows it
 * (https://learn.microsoft.com/en-us/graph/api/call-playprompt, "Notification - operation completed"):
 * changeType `deleted`, and the ids in the resource URL in upper case without dashes.
 */
export function promptOperationNotification(
  callId: string,
  operationId: string,
  status: 'completed' | 'failed',
  clientContext: string | undefined,
): Record<string, unknown> {
  const compact = (id: string) => id.replace(/-/g, '').toUpperCase();
  const resourceUrl = `/communications/calls/${compact(callId)}/operations/${compact(operationId)}`;
  return notificationBody('deleted', resourceUrl, {
    '@odata.type': '#microsoft.graph.playPromptOperation',
    '@odata.id': resourceUrl,
    resultInfo:
      status === 'completed'
        ? { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' }
        : { '@odata.type': '#microsoft.graph.resultInfo', code: 400, subcode: 8507, message: 'The prompt could not be played.' },
    ...(clientContext === undefined ? {} : { clientContext }),
    status,
  });
}

/**
 * A policy-based recording participant about to join the recording call `callId`, which the bot
 * answered with participantCapacity
 * (https://learn.microsoft.com/en-us/graph/api/resources/participantjoiningnotification: a `call`
 * with the joining event's details). `call` overrides fields of that call object.
 */
export function participantJoiningNotification(callId: string, call: Record<string, unknown> = {}): Record<string, unknown> {
  return notificationBody('created', `/communications/calls/${callId}`, {
    '@odata.type': '#microsoft.graph.participantJoiningNotification',
    call: {
      '@odata.type': '#microsoft.graph.call',
      state: 'incoming',
      direction: 'incoming',
      source: {
        '@odata.type': '#microsoft.graph.participantInfo',
        identity: { user: { id: randomUUID(), identityProvider: 'AAD' } },
      },
      tenantId: SIM_TENANT_ID,
      applicationMetadata: { botData: { inviteReasons: ['PolicyBasedRecording'], policyIdentifier: 'Test Policy' } },
      ...call,
    },
  });
}

export function rosterParticipant(id: string, identity: Record<string, unknown>): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.participant',
    info: { '@odata.type': '#microsoft.graph.participantInfo', identity: { '@odata.type': '#microsoft.graph.identitySet', ...identity } },
    mediaStreams: [
      { '@odata.type': '#microsoft.graph.mediaStream', mediaType: 'audio', sourceId: '1', direction: 'sendReceive', serverMuted: false },
    ],
    isMuted: false,
    isInLobby: false,
    id,
  };
}

export function rosterNotification(callId: string, participants: Record<string, unknown>[]): Record<string, unknown> {
  return notificationBody('updated', `/communications/calls/${callId}/participants`, participants);
}

export function notificationBody(
  changeType: 'created' | 'updated' | 'deleted',
  resourceUrl: string,
  resourceData?: unknown,
): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.commsNotifications',
    value: [
      {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType,
        resourceUrl,
        ...(resourceData === undefined ? {} : { resourceData }),
      },
    ],
  };
}

// ---- helpers -------------------------------------------------------------------------------

function actionOf(method: string, path: string): { action: GraphAction; callId: string | undefined } | undefined {
  const match = /^\/v1\.0\/communications\/calls(?:\/([^/]+))?(?:\/(answer|keepAlive|reject|playPrompt|subscribeToTone))?$/.exec(path);
  if (!match) return undefined;
  const [, callId, verb] = match;
  if (method === 'POST' && callId && verb) return { action: verb as GraphAction, callId };
  if (method === 'POST' && !callId) return { action: 'create', callId: undefined };
  if (method === 'DELETE' && callId && !verb) return { action: 'delete', callId };
  if (method === 'GET' && callId && !verb) return { action: 'get', callId };
  return undefined;
}

// What Graph would refuse in a meeting join (https://learn.microsoft.com/en-us/graph/api/application-post-calls: chatInfo with organizerMeetingInfo,
// or joinMeetingIdMeetingInfo; tenantId either way).
function joinProblem(request: Record<string, unknown>): string | undefined {
  const meetingInfo = request['meetingInfo'] as Record<string, unknown> | undefined;
  if (!meetingInfo) return undefined;
  if (typeof request['tenantId'] !== 'string') return 'tenantId is required to join a meeting';
  const type = meetingInfo['@odata.type'];
  if (type === '#microsoft.graph.joinMeetingIdMeetingInfo') {
    return typeof meetingInfo['joinMeetingId'] === 'string' ? undefined : 'joinMeetingId is required';
  }
  if (type === '#microsoft.graph.organizerMeetingInfo') {
    const chatInfo = request['chatInfo'] as Record<string, unknown> | undefined;
    const organizer = (meetingInfo['organizer'] as Record<string, Record<string, unknown>> | undefined)?.['user'];
    if (typeof chatInfo?.['threadId'] !== 'string') return 'chatInfo.threadId is required with organizerMeetingInfo';
    return typeof organizer?.['id'] === 'string' ? undefined : 'meetingInfo.organizer.user.id is required';
  }
  return `unsupported meetingInfo ${String(type)}`;
}

// What Graph would refuse in a call the bot places (https://learn.microsoft.com/en-us/graph/api/application-post-calls,
// examples 1 and 3 and the PSTN example): invitationParticipantInfo targets with a user or a phone
// identity, at most five users, one phone number from an application instance source, a tenant.
function outgoingProblem(request: Record<string, unknown>): string | undefined {
  const targets = request['targets'];
  if (!Array.isArray(targets) || targets.length === 0) return 'targets or meetingInfo is required';
  if (typeof request['tenantId'] !== 'string') return 'tenantId is required';
  if (JSON.stringify(request['requestedModalities']) !== '["audio"]') return 'requestedModalities must be ["audio"]';
  const identities = (targets as Record<string, unknown>[]).map((t) => {
    if (t['@odata.type'] !== '#microsoft.graph.invitationParticipantInfo') return undefined;
    const set = t['identity'] as Record<string, unknown> | undefined;
    return set?.['@odata.type'] === '#microsoft.graph.identitySet' ? set : undefined;
  });
  if (identities.some((i) => i === undefined)) return 'each target must be an invitationParticipantInfo with an identitySet';
  const phones = identities.filter((i) => i!['phone'] !== undefined);
  const users = identities.filter((i) => i!['user'] !== undefined);
  if (phones.length + users.length !== identities.length) return 'each target must name a user or a phone';
  const source = (request['source'] as Record<string, Record<string, unknown>> | undefined)?.['identity'];
  if (phones.length > 0) {
    if (phones.length > 1 || users.length > 0) return 'a PSTN call has exactly one phone target';
    const phone = (phones[0]!['phone'] as Record<string, unknown>)['id'];
    if (typeof phone !== 'string' || !/^\+[1-9]\d{6,14}$/.test(phone)) return 'the phone target must be an E.164 number';
    const instance = source?.['applicationInstance'] as Record<string, unknown> | undefined;
    if (typeof instance?.['id'] !== 'string') return 'a PSTN call needs source.identity.applicationInstance';
    return undefined;
  }
  if (users.length > 5) return 'a group call takes at most five users';
  if (users.some((u) => typeof (u!['user'] as Record<string, unknown>)['id'] !== 'string')) return 'each user target needs an id';
  if (users.length > 1) {
    if (request['direction'] !== 'outgoing') return 'a group call has direction "outgoing"';
    if (typeof (source?.['application'] as Record<string, unknown> | undefined)?.['id'] !== 'string') {
      return 'a group call needs source.identity.application';
    }
  }
  return undefined;
}

function isValidAnswer(body: unknown): boolean {
  const b = body as Record<string, unknown> | undefined;
  const media = b?.['mediaConfig'] as Record<string, unknown> | undefined;
  return (
    typeof b?.['callbackUri'] === 'string' &&
    b['callbackUri'].startsWith('https://') &&
    Array.isArray(b['acceptedModalities']) &&
    (b['acceptedModalities'] as unknown[]).length > 0 &&
    typeof media?.['@odata.type'] === 'string'
  );
}

function graphError(code: string, message: string) {
  return { error: { code, message } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function parseJsonBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
