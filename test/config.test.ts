import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../shared/config.js';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  BOT_APP_ID: '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50',
  BOT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  BOT_CALLBACK_URL: 'https://bot.example.test/api/calls',
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(minimal)).toEqual({
      callsTable: { access: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' }, tableName: 'calls' },
      managedIdentityClientId: undefined,
      bot: {
        appId: '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50',
        tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        appSecret: undefined,
        graphAuth: 'federated',
        authorityHost: undefined,
        callbackUrl: 'https://bot.example.test/api/calls',
      },
      keepAlive: { intervalMinutes: 15, maxInFlight: 128, sweepBudgetSeconds: 180, fanOutThreshold: 200_000 },
      hostQueue: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
      graphBaseUrl: 'https://graph.microsoft.com/v1.0',
      notificationOpenIdConfigUrl: 'https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration',
      incomingCalls: {
        allowedTenantIds: [],
        maxActiveCalls: 0,
        activeCallsCacheSeconds: 30,
        policyRecordingParticipantCapacity: 200,
      },
      meetings: { leaveWhenAloneMinutes: 5, rejoinAttempts: 3, rejoinBackoffSeconds: 2 },
      outgoingCalls: { pstn: undefined, toneTimeoutSeconds: 60 },
      welcomePromptUrl: undefined,
      callHistoryDays: 7,
    });
  });

  it('reads the outgoing-call, prompt and history settings', () => {
    const config = loadConfig({
      ...minimal,
      PSTN_APPLICATION_INSTANCE_ID: '3d913abb-aec0-4964-8fa6-3c6850c4f278',
      PSTN_APPLICATION_INSTANCE_DISPLAY_NAME: 'Calling Bot',
      WELCOME_PROMPT_URL: 'https://cdn.example.test/welcome.wav',
      TONE_TIMEOUT_SECONDS: '30',
      CALL_HISTORY_DAYS: '30',
    });
    expect(config.outgoingCalls).toEqual({
      pstn: { applicationInstanceId: '3d913abb-aec0-4964-8fa6-3c6850c4f278', displayName: 'Calling Bot' },
      toneTimeoutSeconds: 30,
    });
    expect(config.welcomePromptUrl).toBe('https://cdn.example.test/welcome.wav');
    expect(config.callHistoryDays).toBe(30);
  });

  it('prefers CALLS_TABLE_CONNECTION over AzureWebJobsStorage and reads every setting', () => {
    const config = loadConfig({
      ...minimal,
      CALLS_TABLE_CONNECTION: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eQ==',
      CALLS_TABLE_NAME: 'botCalls',
      BOT_APP_SECRET: 'secret',
      KEEPALIVE_INTERVAL_MINUTES: '0',
      KEEPALIVE_MAX_IN_FLIGHT: '64',
      SWEEP_FANOUT_THRESHOLD: '0',
      GRAPH_BASE_URL: 'https://graph.microsoft.us/v1.0/',
    });
    expect(config.callsTable).toEqual({
      access: { kind: 'connectionString', connectionString: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eQ==' },
      tableName: 'botCalls',
    });
    expect(config.bot.appSecret).toBe('secret');
    expect(config.keepAlive).toEqual({ intervalMinutes: 0, maxInFlight: 64, sweepBudgetSeconds: 30, fanOutThreshold: 0 });
    expect(config.hostQueue).toEqual({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
    expect(config.graphBaseUrl).toBe('https://graph.microsoft.us/v1.0');
  });

  it('has no fan-out threshold when fan-out is off', () => {
    expect(loadConfig({ ...minimal, SWEEP_FANOUT: 'off', SWEEP_FANOUT_THRESHOLD: '10' }).keepAlive.fanOutThreshold).toBeUndefined();
    expect(loadConfig({ ...minimal, SWEEP_FANOUT: 'auto', SWEEP_FANOUT_THRESHOLD: '10' }).keepAlive.fanOutThreshold).toBe(10);
  });

  it.each([
    [undefined, undefined, 180],
    ['6', undefined, 120],
    ['28', undefined, 180],
    ['15', '45', 45],
  ])('takes the sweep budget as set, or a third of the keepAlive interval (interval %s, budget %s)', (interval, budget, seconds) => {
    const config = loadConfig({ ...minimal, KEEPALIVE_INTERVAL_MINUTES: interval, KEEPALIVE_SWEEP_BUDGET_SECONDS: budget });
    expect(config.keepAlive.sweepBudgetSeconds).toBe(seconds);
  });

  it.each([
    [{ BOT_APP_ID: undefined }, 'BOT_APP_ID is required'],
    [{ BOT_TENANT_ID: '  ' }, 'BOT_TENANT_ID is required'],
    [{ BOT_APP_ID: 'my-bot' }, `BOT_APP_ID must be the app registration's application (client) id (a GUID), got "my-bot"`],
    [{ BOT_TENANT_ID: 'contoso.onmicrosoft.com' }, "BOT_TENANT_ID must be the app registration's tenant id (a GUID)"],
    [{ BOT_APP_ID: '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f5' }, 'BOT_APP_ID must be the app registration'],
    [
      { NOTIFICATION_OPENID_CONFIG_URL: 'http://api.aps.skype.com/v1/.well-known/OpenIdConfiguration' },
      'NOTIFICATION_OPENID_CONFIG_URL must use https:',
    ],
    [{ BOT_CALLBACK_URL: undefined }, 'BOT_CALLBACK_URL is required'],
    [
      { PSTN_APPLICATION_INSTANCE_ID: '+14255550100' },
      'PSTN_APPLICATION_INSTANCE_ID must be the object id of an application instance (a GUID)',
    ],
    [{ WELCOME_PROMPT_URL: 'http://cdn.example.test/welcome.wav' }, 'WELCOME_PROMPT_URL must be an https URL'],
    [{ TONE_TIMEOUT_SECONDS: '0' }, 'TONE_TIMEOUT_SECONDS must be a whole number from 5'],
    [{ CALL_HISTORY_DAYS: '0' }, 'CALL_HISTORY_DAYS must be a whole number from 1'],
    [{ BOT_CALLBACK_URL: 'http://bot.example.test/api/calls' }, 'BOT_CALLBACK_URL must use https:'],
    [{ BOT_CALLBACK_URL: 'not a url' }, 'BOT_CALLBACK_URL must be an absolute URL'],
    [{ AzureWebJobsStorage: undefined }, 'AzureWebJobsStorage is required'],
    [{ AzureWebJobsStorage: undefined, CALLS_TABLE_CONNECTION: 'UseDevelopmentStorage=true' }, 'AzureWebJobsStorage is required'],
    [{ SWEEP_FANOUT_THRESHOLD: '-1' }, 'SWEEP_FANOUT_THRESHOLD must be a whole number from 0'],
    [{ SWEEP_FANOUT: 'never' }, 'SWEEP_FANOUT must be auto or off'],
    [{ CALLS_TABLE_NAME: 'no-dashes' }, 'CALLS_TABLE_NAME must be 3-57 letters or digits'],
    [{ CALLS_TABLE_NAME: `c${'a'.repeat(57)}` }, 'CALLS_TABLE_NAME must be 3-57 letters or digits'],
    [{ CALLS_TABLE_ENDPOINT: 'http://acct.table.core.windows.net' }, 'CALLS_TABLE_ENDPOINT must be an https URL'],
    [
      { CALLS_TABLE_ENDPOINT: 'https://acct.table.core.windows.net', CALLS_TABLE_CONNECTION: 'UseDevelopmentStorage=true' },
      'set CALLS_TABLE_CONNECTION or CALLS_TABLE_ENDPOINT, not both',
    ],
    [
      { AzureWebJobsStorage: undefined, AzureWebJobsStorage__accountName: 'Not_An_Account' },
      'AzureWebJobsStorage__accountName must be a storage account name',
    ],
    [
      { AzureWebJobsStorage: undefined, AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net' },
      'the call table needs CALLS_TABLE_CONNECTION, CALLS_TABLE_ENDPOINT',
    ],
    [{ KEEPALIVE_INTERVAL_MINUTES: '29' }, 'KEEPALIVE_INTERVAL_MINUTES must be a whole number from 0 to 28, got "29" (Graph ends a call'],
    [{ KEEPALIVE_INTERVAL_MINUTES: 'soon' }, 'KEEPALIVE_INTERVAL_MINUTES must be a whole number'],
    [{ KEEPALIVE_MAX_IN_FLIGHT: '0' }, 'KEEPALIVE_MAX_IN_FLIGHT must be a whole number from 1'],
    [
      { KEEPALIVE_SWEEP_BUDGET_SECONDS: '300' },
      'KEEPALIVE_SWEEP_BUDGET_SECONDS must be a whole number from 30 to 180, got "300" (a sweep must be done',
    ],
    [{ KEEPALIVE_SWEEP_BUDGET_SECONDS: '10' }, 'KEEPALIVE_SWEEP_BUDGET_SECONDS must be a whole number from 30 to 180'],
    [{ GRAPH_BASE_URL: 'http://graph.microsoft.com/v1.0' }, 'GRAPH_BASE_URL must use https:'],
    [{ AZURE_AUTHORITY_HOST: 'http://login.example' }, 'AZURE_AUTHORITY_HOST must be an https URL'],
    [
      { ALLOWED_TENANT_IDS: '72f988bf-86f1-41af-91ab-2d7cd011db47, contoso' },
      'ALLOWED_TENANT_IDS must be a comma-separated list of tenant ids (GUIDs), got "contoso"',
    ],
    [{ MAX_ACTIVE_CALLS: '-1' }, 'MAX_ACTIVE_CALLS must be a whole number from 0'],
    [{ ACTIVE_CALLS_CACHE_SECONDS: '1.5' }, 'ACTIVE_CALLS_CACHE_SECONDS must be a whole number from 0 to 3600'],
    [{ POLICY_RECORDING_PARTICIPANT_CAPACITY: '0' }, 'POLICY_RECORDING_PARTICIPANT_CAPACITY must be a whole number from 1'],
    [{ LEAVE_WHEN_ALONE_MINUTES: 'never' }, 'LEAVE_WHEN_ALONE_MINUTES must be a whole number from 0'],
    [{ REJOIN_ATTEMPTS: '11' }, 'REJOIN_ATTEMPTS must be a whole number from 0 to 10'],
    [{ REJOIN_BACKOFF_SECONDS: '61' }, 'REJOIN_BACKOFF_SECONDS must be a whole number from 0 to 60'],
  ])('names the bad setting: %o', (change, message) => {
    const env = { ...minimal, ...change };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reaches storage with the managed identity when the host storage is identity-based (no keys)', () => {
    const config = loadConfig({
      ...minimal,
      AzureWebJobsStorage: undefined,
      AzureWebJobsStorage__accountName: 'botstore42',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: '11111111-2222-3333-4444-555555555555',
    });
    expect(config.callsTable.access).toEqual({ kind: 'managedIdentity', endpoint: 'https://botstore42.table.core.windows.net' });
    expect(config.hostQueue).toEqual({ kind: 'managedIdentity', endpoint: 'https://botstore42.queue.core.windows.net' });
    expect(config.managedIdentityClientId).toBe('11111111-2222-3333-4444-555555555555');
  });

  it('takes CALLS_TABLE_ENDPOINT and AZURE_CLIENT_ID over what the host storage implies', () => {
    const config = loadConfig({
      ...minimal,
      CALLS_TABLE_ENDPOINT: 'https://callsacct.table.core.windows.net/',
      AZURE_CLIENT_ID: 'aaaaaaaa-2222-3333-4444-555555555555',
      AzureWebJobsStorage__clientId: '11111111-2222-3333-4444-555555555555',
    });
    expect(config.callsTable.access).toEqual({ kind: 'managedIdentity', endpoint: 'https://callsacct.table.core.windows.net' });
    expect(config.hostQueue).toEqual({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
    expect(config.managedIdentityClientId).toBe('aaaaaaaa-2222-3333-4444-555555555555');
  });

  it('reads the incoming-call and meeting settings', () => {
    const config = loadConfig({
      ...minimal,
      ALLOWED_TENANT_IDS: ' 72F988BF-86F1-41AF-91AB-2D7CD011DB47,aaaabbbb-0000-1111-2222-333344445555 ',
      MAX_ACTIVE_CALLS: '500',
      ACTIVE_CALLS_CACHE_SECONDS: '0',
      POLICY_RECORDING_PARTICIPANT_CAPACITY: '50',
      LEAVE_WHEN_ALONE_MINUTES: '0',
      REJOIN_ATTEMPTS: '0',
      REJOIN_BACKOFF_SECONDS: '10',
    });
    expect(config.incomingCalls).toEqual({
      allowedTenantIds: ['72f988bf-86f1-41af-91ab-2d7cd011db47', 'aaaabbbb-0000-1111-2222-333344445555'],
      maxActiveCalls: 500,
      activeCallsCacheSeconds: 0,
      policyRecordingParticipantCapacity: 50,
    });
    expect(config.meetings).toEqual({ leaveWhenAloneMinutes: 0, rejoinAttempts: 0, rejoinBackoffSeconds: 10 });
  });

  it('names every bad setting at once', () => {
    expect(() => loadConfig({})).toThrow(/BOT_APP_ID is required.*BOT_TENANT_ID is required.*BOT_CALLBACK_URL is required/);
  });
});

describe('BOT_GRAPH_AUTH', () => {
  const base = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    BOT_APP_ID: '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50',
    BOT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    BOT_CALLBACK_URL: 'https://bot.example.test/api/calls',
  };
  it.each([
    [{}, 'federated'],
    [{ BOT_APP_SECRET: 's' }, 'secret'],
    [{ BOT_APP_SECRET: 's', BOT_GRAPH_AUTH: 'federated' }, 'federated'],
    [{ BOT_GRAPH_AUTH: 'managedIdentity' }, 'managedIdentity'],
  ])('%o -> %s', (env, graphAuth) => {
    expect(loadConfig({ ...base, ...env }).bot.graphAuth).toBe(graphAuth);
  });
  it.each([
    [{ BOT_GRAPH_AUTH: 'secret' }, 'BOT_GRAPH_AUTH is secret, but BOT_APP_SECRET is not set'],
    [{ BOT_GRAPH_AUTH: 'certificate' }, 'BOT_GRAPH_AUTH must be secret, federated or managedIdentity'],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });
});
