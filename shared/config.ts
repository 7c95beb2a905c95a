import * as z from './schema.js';
import { KEEPALIVE_INTERVAL_BOUND_REASON, MAX_KEEPALIVE_INTERVAL_MINUTES } from './keepAlive/keepAliveSchedule.js';
import {
  defaultSweepBudgetSeconds,
  MAX_SWEEP_BUDGET_SECONDS,
  MIN_SWEEP_BUDGET_SECONDS,
  SWEEP_BUDGET_BOUND_REASON,
} from './keepAlive/sweepBudget.js';

/**
 * How the app reaches a storage service: with a connection string (Azurite, or an account key), or
 * at an https endpoint with the app's managed identity (no shared keys; Azure RBAC decides).
 */
export type StorageAccess = { kind: 'connectionString'; connectionString: string } | { kind: 'managedIdentity'; endpoint: string };

/** Everything the app reads from its settings, validated once (see `loadConfig`). */
export interface AppConfig {
  callsTable: {
    access: StorageAccess;
    tableName: string;
  };
  /** Client id of a user-assigned managed identity; undefined = the system-assigned one. */
  managedIdentityClientId: string | undefined;
  bot: {
    appId: string;
    tenantId: string;
    /** Absent: the app authenticates to Graph without a secret (see `graphAuth`). */
    appSecret: string | undefined;
    /**
     * How the app gets its Graph token as the bot: `secret` (BOT_APP_SECRET), `federated` (its managed
     * identity's token as a client assertion for the bot's app registration, which trusts that
     * identity through a federated credential: no secret to rotate), or `managedIdentity` (the
     * identity's own token, only right when that identity is itself the calling bot).
     */
    graphAuth: 'secret' | 'federated' | 'managedIdentity';
    /** Entra authority that issues the client-secret token; undefined = the public cloud. */
    authorityHost: string | undefined;
    callbackUrl: string;
  };
  keepAlive: {
    intervalMinutes: number;
    maxInFlight: number;
    /** How long one sweep may send keepAlives; the timer sweeps inline only what one instance can do in it. */
    sweepBudgetSeconds: number;
    /**
     * Above this many active calls the timer always hands the sweep out shard by shard over a
     * queue; below it, the projection from recent sweeps decides. It also bounds the count.
     * Undefined (SWEEP_FANOUT=off): the timer sweeps every call itself.
     */
    fanOutThreshold: number | undefined;
  };
  /** The queue service of the Functions host's storage (`AzureWebJobsStorage`), where the queues live (the rejoin queue is written by the app, the shard queue by the timer's output binding). */
  hostQueue: StorageAccess;
  graphBaseUrl: string;
  notificationOpenIdConfigUrl: string;
  incomingCalls: {
    /** Tenants whose calls are answered; empty = any tenant. Lower case. */
    allowedTenantIds: string[];
    /** At this many active calls an incoming call is rejected as busy; 0 = no limit. */
    maxActiveCalls: number;
    /** How long a count of the active calls is reused before it is taken again. */
    activeCallsCacheSeconds: number;
    /** `participantCapacity` of the answer to a policy-based recording invitation (https://learn.microsoft.com/en-us/graph/api/call-answer). */
    policyRecordingParticipantCapacity: number;
  };
  meetings: {
    /** Hang up once the bot has been alone in a meeting this long; 0 = never. */
    leaveWhenAloneMinutes: number;
    /** Rejoins after an abnormal end of a joined meeting; 0 = never. */
    rejoinAttempts: number;
    /** Wait before the first rejoin attempt; doubled for each further one. */
    rejoinBackoffSeconds: number;
  };
  outgoingCalls: {
    /** The application instance (with a phone number) that calls phone numbers; absent: no PSTN calls. */
    pstn: { applicationInstanceId: string; displayName: string | undefined } | undefined;
    /** `hangUpAfter: "tone"`: hang up when no key came this long after the prompt finished (or the call was established). */
    toneTimeoutSeconds: number;
  };
  /** Played once on every answered incoming call; absent: none. */
  welcomePromptUrl: string | undefined;
  /** How long ended calls stay in the history table. */
  callHistoryDays: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const optionalText = z.optional(
  z.pipe(
    z.string().check(z.trim()),
    z.transform((value: string) => (value === '' ? undefined : value)),
  ),
);

/** A setting read from its text (trimmed; empty is absent) by `read`. */
const setting = <T>(read: (value: string | undefined, payload: z.core.ParsePayload) => T) => z.pipe(optionalText, z.transform(read));

/** `whyMax` says why a larger value is refused, when that is not obvious. */
const integerSetting = <D extends number | undefined>(defaultValue: D, min: number, max: number, whyMax?: string) =>
  setting((value, ctx): number | D => {
    if (value === undefined) return defaultValue;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      const why = whyMax !== undefined && parsed > max ? ` (${whyMax})` : '';
      return z.refuse(ctx, `must be a whole number from ${min} to ${max}, got "${value}"${why}`);
    }
    return parsed;
  });

const urlSetting = (defaultValue: string | undefined, protocols: readonly string[]) =>
  setting((value, ctx) => {
    const raw = value ?? defaultValue;
    if (raw === undefined) return z.refuse(ctx, 'is required');
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return z.refuse(ctx, `must be an absolute URL, got "${raw}"`);
    }
    if (!protocols.includes(url.protocol)) return z.refuse(ctx, `must use ${protocols.join(' or ')}, got "${raw}"`);
    return raw;
  });

/** The sweep records its outcome in a table of its own beside the call table, named with this suffix. */
export const SWEEP_STATUS_TABLE_SUFFIX = 'sweeps';
/** Joins asked of Graph and not yet tracked live in a table of their own, named with this suffix (no longer than the one above). */
export const JOIN_LEDGER_TABLE_SUFFIX = 'joins';
/** The history of ended calls lives in `<CALLS_TABLE_NAME>ended` (no longer than the sweeps suffix, so the name bound holds). */
export const CALL_HISTORY_TABLE_SUFFIX = 'ended';

// Azure Table names: 3-63 alphanumeric characters, not starting with a digit; the sweep status
// table's name adds a suffix, so the call table's name leaves room for it.
const MAX_CALLS_TABLE_NAME = 63 - SWEEP_STATUS_TABLE_SUFFIX.length;
const tableName = setting((value, ctx) => {
  const name = value ?? 'calls';
  if (!new RegExp(`^[A-Za-z][A-Za-z0-9]{2,${MAX_CALLS_TABLE_NAME - 1}}$`).test(name)) {
    return z.refuse(ctx, `must be 3-${MAX_CALLS_TABLE_NAME} letters or digits starting with a letter, got "${name}"`);
  }
  return name;
});

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The bot's app and tenant ids are GUIDs; a typo in the app id would otherwise surface only as a
// 401 for every notification (the token's audience would never match).
const guidSetting = (what: string) =>
  setting((value, ctx) => {
    if (value === undefined || !GUID.test(value)) {
      return z.refuse(ctx, value === undefined ? 'is required' : `must be ${what} (a GUID), got "${value}"`);
    }
    return value;
  });

// A comma (or space) separated list of tenant ids; empty means any tenant.
const tenantIdList = setting((value, ctx) => {
  const ids = (value ?? '').split(/[\s,;]+/).filter((id) => id !== '');
  const bad = ids.filter((id) => !GUID.test(id));
  if (bad.length > 0) return z.refuse(ctx, `must be a comma-separated list of tenant ids (GUIDs), got "${bad.join(', ')}"`);
  return ids.map((id) => id.toLowerCase());
});

// A storage account name: 3-24 lower-case letters and digits.
/** The text of a setting (trimmed; empty is absent), checked by `schema` when present. */
const checkedText = <T extends z.core.$ZodType<unknown, string>>(schema: T) => z.pipe(optionalText, z.optional(schema));
const storageAccountName = checkedText(
  z.string().check(z.regex(/^[a-z0-9]{3,24}$/, { error: 'must be a storage account name (3-24 lower-case letters and digits)' })),
);
const httpsEndpoint = checkedText(z.url({ protocol: /^https$/, error: 'must be an https URL' }));

const settingsSchema = z.object({
  AzureWebJobsStorage: optionalText,
  // The Functions host's identity-based connection (no connection string); the app follows it.
  AzureWebJobsStorage__accountName: storageAccountName,
  AzureWebJobsStorage__queueServiceUri: httpsEndpoint,
  AzureWebJobsStorage__tableServiceUri: httpsEndpoint,
  AzureWebJobsStorage__clientId: optionalText,
  AZURE_CLIENT_ID: optionalText,
  CALLS_TABLE_CONNECTION: optionalText,
  CALLS_TABLE_ENDPOINT: httpsEndpoint,
  CALLS_TABLE_NAME: tableName,
  BOT_APP_ID: guidSetting("the app registration's application (client) id"),
  BOT_TENANT_ID: guidSetting("the app registration's tenant id"),
  BOT_APP_SECRET: optionalText,
  BOT_GRAPH_AUTH: checkedText(
    z.enum(['secret', 'federated', 'managedIdentity'], { error: 'must be secret, federated or managedIdentity' }),
  ),
  AZURE_AUTHORITY_HOST: httpsEndpoint,
  // Graph requires the callback to be https (https://learn.microsoft.com/en-us/graph/api/resources/call: callbackUri).
  BOT_CALLBACK_URL: urlSetting(undefined, ['https:']),
  // Bounded so that a call just short of due plus one failed keepAlive still fits in Graph's 45 minutes.
  KEEPALIVE_INTERVAL_MINUTES: integerSetting(15, 0, MAX_KEEPALIVE_INTERVAL_MINUTES, KEEPALIVE_INTERVAL_BOUND_REASON),
  KEEPALIVE_MAX_IN_FLIGHT: integerSetting(128, 1, 1000),
  // Absent: a third of the keepAlive interval, within the bounds (see sweepBudget.ts).
  KEEPALIVE_SWEEP_BUDGET_SECONDS: integerSetting(undefined, MIN_SWEEP_BUDGET_SECONDS, MAX_SWEEP_BUDGET_SECONDS, SWEEP_BUDGET_BOUND_REASON),
  SWEEP_FANOUT_THRESHOLD: integerSetting(200_000, 0, 100_000_000),
  SWEEP_FANOUT: checkedText(z.enum(['auto', 'off'], { error: 'must be auto or off' })),
  GRAPH_BASE_URL: urlSetting('https://graph.microsoft.com/v1.0', ['https:']),
  // The keys that prove a notification comes from Graph must not travel over plain http.
  NOTIFICATION_OPENID_CONFIG_URL: urlSetting('https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration', ['https:']),
  ALLOWED_TENANT_IDS: tenantIdList,
  MAX_ACTIVE_CALLS: integerSetting(0, 0, 1_000_000),
  ACTIVE_CALLS_CACHE_SECONDS: integerSetting(30, 0, 3600),
  POLICY_RECORDING_PARTICIPANT_CAPACITY: integerSetting(200, 1, 10_000),
  LEAVE_WHEN_ALONE_MINUTES: integerSetting(5, 0, 24 * 60),
  REJOIN_ATTEMPTS: integerSetting(3, 0, 10),
  REJOIN_BACKOFF_SECONDS: integerSetting(2, 0, 60),
  PSTN_APPLICATION_INSTANCE_ID: checkedText(
    z.string().check(z.regex(GUID, { error: 'must be the object id of an application instance (a GUID)' })),
  ),
  PSTN_APPLICATION_INSTANCE_DISPLAY_NAME: optionalText,
  // Graph fetches the prompt itself, so it must be a public https URL (https://learn.microsoft.com/en-us/graph/api/resources/mediainfo).
  WELCOME_PROMPT_URL: httpsEndpoint,
  TONE_TIMEOUT_SECONDS: integerSetting(60, 5, 3600),
  CALL_HISTORY_DAYS: integerSetting(7, 1, 365),
});

/**
 * Reads and validates the app settings. Throws a `ConfigError` naming every setting that is
 * missing or malformed, so a misconfigured app fails on its first invocation with a clear message.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): AppConfig {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`Invalid app settings: ${problems.join('; ')}`);
  }
  const s = parsed.data;
  if (s.CALLS_TABLE_CONNECTION !== undefined && s.CALLS_TABLE_ENDPOINT !== undefined) {
    throw new ConfigError('Invalid app settings: set CALLS_TABLE_CONNECTION or CALLS_TABLE_ENDPOINT, not both');
  }
  const accountEndpoint = (service: 'table' | 'queue') =>
    s.AzureWebJobsStorage__accountName && `https://${s.AzureWebJobsStorage__accountName}.${service}.core.windows.net`;
  const access = (connectionString: string | undefined, endpoint: string | undefined): StorageAccess | undefined =>
    connectionString !== undefined
      ? { kind: 'connectionString', connectionString }
      : endpoint !== undefined
        ? { kind: 'managedIdentity', endpoint: endpoint.replace(/\/+$/, '') }
        : undefined;
  // The Functions host needs its storage for the timer and queue triggers; the app's rejoin queue lives there too.
  const hostQueue = access(s.AzureWebJobsStorage, s.AzureWebJobsStorage__queueServiceUri ?? accountEndpoint('queue'));
  if (hostQueue === undefined) {
    throw new ConfigError(
      'Invalid app settings: AzureWebJobsStorage is required (a connection string, or AzureWebJobsStorage__accountName for an identity-based connection)',
    );
  }
  const callsTable =
    access(s.CALLS_TABLE_CONNECTION, s.CALLS_TABLE_ENDPOINT) ??
    access(s.AzureWebJobsStorage, s.AzureWebJobsStorage__tableServiceUri ?? accountEndpoint('table'));
  if (callsTable === undefined) {
    throw new ConfigError(
      'Invalid app settings: the call table needs CALLS_TABLE_CONNECTION, CALLS_TABLE_ENDPOINT, or AzureWebJobsStorage with a table endpoint (AzureWebJobsStorage__tableServiceUri or __accountName)',
    );
  }
  const graphAuth = s.BOT_GRAPH_AUTH ?? (s.BOT_APP_SECRET === undefined ? 'federated' : 'secret');
  if (graphAuth === 'secret' && s.BOT_APP_SECRET === undefined) {
    throw new ConfigError('Invalid app settings: BOT_GRAPH_AUTH is secret, but BOT_APP_SECRET is not set');
  }
  return {
    callsTable: { access: callsTable, tableName: s.CALLS_TABLE_NAME },
    managedIdentityClientId: s.AZURE_CLIENT_ID ?? s.AzureWebJobsStorage__clientId,
    bot: {
      appId: s.BOT_APP_ID,
      tenantId: s.BOT_TENANT_ID,
      appSecret: s.BOT_APP_SECRET,
      graphAuth,
      authorityHost: s.AZURE_AUTHORITY_HOST,
      callbackUrl: s.BOT_CALLBACK_URL,
    },
    keepAlive: {
      intervalMinutes: s.KEEPALIVE_INTERVAL_MINUTES,
      maxInFlight: s.KEEPALIVE_MAX_IN_FLIGHT,
      sweepBudgetSeconds: s.KEEPALIVE_SWEEP_BUDGET_SECONDS ?? defaultSweepBudgetSeconds(s.KEEPALIVE_INTERVAL_MINUTES),
      fanOutThreshold: s.SWEEP_FANOUT === 'off' ? undefined : s.SWEEP_FANOUT_THRESHOLD,
    },
    hostQueue,
    graphBaseUrl: s.GRAPH_BASE_URL.replace(/\/+$/, ''),
    notificationOpenIdConfigUrl: s.NOTIFICATION_OPENID_CONFIG_URL,
    incomingCalls: {
      allowedTenantIds: s.ALLOWED_TENANT_IDS,
      maxActiveCalls: s.MAX_ACTIVE_CALLS,
      activeCallsCacheSeconds: s.ACTIVE_CALLS_CACHE_SECONDS,
      policyRecordingParticipantCapacity: s.POLICY_RECORDING_PARTICIPANT_CAPACITY,
    },
    meetings: {
      leaveWhenAloneMinutes: s.LEAVE_WHEN_ALONE_MINUTES,
      rejoinAttempts: s.REJOIN_ATTEMPTS,
      rejoinBackoffSeconds: s.REJOIN_BACKOFF_SECONDS,
    },
    outgoingCalls: {
      pstn:
        s.PSTN_APPLICATION_INSTANCE_ID === undefined
          ? undefined
          : { applicationInstanceId: s.PSTN_APPLICATION_INSTANCE_ID, displayName: s.PSTN_APPLICATION_INSTANCE_DISPLAY_NAME },
      toneTimeoutSeconds: s.TONE_TIMEOUT_SECONDS,
    },
    welcomePromptUrl: s.WELCOME_PROMPT_URL,
    callHistoryDays: s.CALL_HISTORY_DAYS,
  };
}
