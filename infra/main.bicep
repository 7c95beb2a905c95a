// Infrastructure of the Teams calling bot back end, deployed by `azd up` into an empty subscription:
// a resource group rg-<environmentName> holding a Flex Consumption function app with a
// user-assigned identity, its storage account (no shared keys), Key Vault with the bot secret,
// Log Analytics and Application Insights.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds the unique resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every resource; it must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@minLength(1)
@description('Client (app) id of the Entra app registration of the bot.')
param botAppId string

@secure()
@minLength(1)
@description('Client secret of the bot app registration; stored in Key Vault as bot-app-secret.')
param botAppSecret string

@description('Tenant id of the bot app registration; empty = the tenant of this deployment.')
param botTenantId string = tenant().tenantId

@description('Comma-separated tenant ids whose incoming calls are answered; empty = any tenant.')
param allowedTenantIds string = ''

@minValue(0)
@description('Active calls at which an incoming call is rejected as busy; 0 = no limit.')
param maxActiveCalls int = 0

@minValue(1)
@maxValue(1000)
@description('Upper limit of instances the function app scales out to.')
param maximumInstanceCount int = 100

@minValue(0)
@description('Always-ready instances of the http group (the calls webhook must answer within 15 s); 0 = none.')
param alwaysReady int = 1

@description('Accept only Microsoft Entra authenticated telemetry in Application Insights.')
param appInsightsDisableLocalAuth bool = true

@description('E-mail address for the alert rules (a dropped call, a keepAlive older than 30 minutes, a failed sweep, health 503); empty = none.')
param alertEmail string = ''

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID): granted read access to the call tables.')
param principalId string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var effectiveBotTenantId = empty(botTenantId) ? tenant().tenantId : botTenantId

// Names within Azure limits: storage account 3-24 lowercase alphanumerics, Key Vault 3-24,
// function app 2-60; uniqueString gives 13 characters.
var functionAppName = 'func-api-${resourceToken}'
var planName = 'plan-${resourceToken}'
var identityName = 'id-api-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var keyVaultName = 'kv-${resourceToken}'
var logAnalyticsName = 'log-${resourceToken}'
var applicationInsightsName = 'appi-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    principalId: identity.outputs.principalId
    readerPrincipalId: principalId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: logAnalyticsName
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
    disableLocalAuth: appInsightsDisableLocalAuth
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    location: location
    tags: tags
    alertEmail: alertEmail
    namePrefix: 'calling-bot-${resourceToken}'
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    readerPrincipalId: identity.outputs.principalId
    botAppSecret: botAppSecret
  }
}

// Uses outputs of storage, monitoring and keyVault, so it starts only after those modules,
// role assignments included, have been deployed.
module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: functionAppName
    planName: planName
    location: location
    tags: tags
    serviceName: 'api'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    botCredentialUri: keyVault.outputs.botCredentialUri
    botAppId: botAppId
    botTenantId: effectiveBotTenantId
    allowedTenantIds: allowedTenantIds
    maxActiveCalls: maxActiveCalls
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReady
    instanceMemoryMB: 2048
  }
}

output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output BOT_CALLBACK_URL string = functionApp.outputs.callbackUrl
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
