// Flex Consumption plan (FC1) and the function app (Linux, Node 22) with its app settings.
// Flex Consumption keeps the runtime, scale and deployment storage in functionAppConfig, so the
// app settings FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE,
// WEBSITE_NODE_DEFAULT_VERSION, WEBSITE_CONTENT* and SCM_DO_BUILD_DURING_DEPLOYMENT are not set.

@description('Name of the function app; also the first label of its default host name.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags for the plan and the app (the app also gets azd-service-name).')
param tags object

@description('Service name in azure.yaml that azd deploys to this app.')
param serviceName string = 'api'

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Name of the storage account used for host storage and the call table.')
param storageAccountName string

@description('Table endpoint of that account, without a trailing slash.')
param storageTableEndpoint string

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('Application Insights connection string.')
param applicationInsightsConnectionString string

@description('Versionless URI of the Key Vault secret holding the bot client secret.')
param botCredentialUri string

@description('Client (app) id of the bot app registration.')
param botAppId string

@description('Tenant id of the bot app registration.')
param botTenantId string

@description('Comma-separated tenant ids whose calls are answered; empty = any tenant.')
param allowedTenantIds string

@description('Active calls at which an incoming call is rejected as busy; 0 = no limit.')
param maxActiveCalls int

@description('Upper limit of instances the app scales out to.')
param maximumInstanceCount int

@description('Always-ready instances of the http group (all HTTP triggers); 0 = none.')
param alwaysReadyHttpInstances int

@description('Memory of each instance in MB.')
param instanceMemoryMB int = 2048

// Graph drops a call whose notification is not answered within 15 s, so the http group (every
// HTTP trigger) keeps warm instances instead of waiting for a cold start.
var alwaysReady = alwaysReadyHttpInstances > 0 ? [
  {
    name: 'http'
    instanceCount: alwaysReadyHttpInstances
  }
] : []

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings are resolved with this identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

var callbackUrl = 'https://${site.properties.defaultHostName}/api/calls'

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Functions host storage with the user-assigned identity (no keys).
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId

    // Telemetry, sent with Microsoft Entra authentication by the same identity.
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

    // The app's own storage clients (call table, shard queue) sign in with this identity.
    AZURE_CLIENT_ID: identityClientId
    CALLS_TABLE_ENDPOINT: storageTableEndpoint
    CALLS_TABLE_NAME: 'calls'

    // Bot app registration; the secret stays in Key Vault.
    BOT_APP_ID: botAppId
    BOT_TENANT_ID: botTenantId
    BOT_APP_SECRET: '@Microsoft.KeyVault(SecretUri=${botCredentialUri})'
    BOT_CALLBACK_URL: callbackUrl

    // Keep-alive sweep.
    KEEPALIVE_INTERVAL_MINUTES: '15'
    KEEPALIVE_MAX_IN_FLIGHT: '128'
    SWEEP_FANOUT_THRESHOLD: '20000'

    // Incoming calls and meetings.
    ALLOWED_TENANT_IDS: allowedTenantIds
    MAX_ACTIVE_CALLS: string(maxActiveCalls)
    LEAVE_WHEN_ALONE_MINUTES: '5'
    REJOIN_ATTEMPTS: '3'

    // Calls the bot places (PSTN_APPLICATION_INSTANCE_ID and WELCOME_PROMPT_URL are set by hand
    // when wanted: see docs/configuration.md), and the history of ended calls.
    TONE_TIMEOUT_SECONDS: '60'
    CALL_HISTORY_DAYS: '7'
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output callbackUrl string = callbackUrl
