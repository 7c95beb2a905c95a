// Storage account of the app: Functions host storage (timer leases, the keep-alive shard queue and
// the rejoin queue), the call tables and the Flex Consumption deployment container. Shared keys are disabled, so
// every client (host, app, platform deployment) signs in with the user-assigned identity, which
// gets the data roles below on this account.

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

@description('Blob container that holds the deployment package of the Flex Consumption app.')
param deploymentContainerName string

@description('Principal (object) id of the app identity that gets the data roles.')
param principalId string

@description('Principal (object) id of the deploying user, who may read the call tables (shared keys are off); empty = nobody.')
param readerPrincipalId string = ''

@description('The call table (CALLS_TABLE_NAME); the sweep records and the join ledger sit beside it with suffixes.')
param callsTableName string = 'calls'

// Built-in role definitions granted to the app identity on the account.
var storageRoleIds = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner (host leases and the deployment container)
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor (queue trigger and the shard queue)
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor (the call table)
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Created at deployment, so the first call does not pay for it; the app still creates them on first
// use (for Azurite and for deployments made otherwise).
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in [callsTableName, '${callsTableName}sweeps', '${callsTableName}joins', '${callsTableName}ended']: {
    parent: tableService
    name: table
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The fan-out's shard queue (written by the timer's output binding), the rejoin queue, and the
// poison queues the host moves failing messages to.
resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in ['keepalive-shards', 'keepalive-shards-poison', 'meeting-rejoins', 'meeting-rejoins-poison']: {
    parent: queueService
    name: queue
  }
]

// Storage Table Data Reader, so an operator can look at the calls in the portal or Storage Explorer.
resource readerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(readerPrincipalId)) {
  name: guid(storage.id, readerPrincipalId, '76199698-9eea-4c19-bc75-cec21354c6b6')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '76199698-9eea-4c19-bc75-cec21354c6b6')
    principalId: readerPrincipalId
    principalType: 'User'
  }
}

resource dataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: {
    name: guid(storage.id, principalId, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// The primary endpoints end with '/'.
var blobEndpoint = storage.properties.primaryEndpoints.blob
var tableEndpoint = storage.properties.primaryEndpoints.table

output name string = storage.name
output id string = storage.id
@description('URL of the deployment container, e.g. https://<account>.blob.core.windows.net/<container>.')
output deploymentContainerUrl string = '${blobEndpoint}${deploymentContainer.name}'
@description('Table endpoint without a trailing slash, e.g. https://<account>.table.core.windows.net.')
output tableEndpoint string = endsWith(tableEndpoint, '/') ? substring(tableEndpoint, 0, length(tableEndpoint) - 1) : tableEndpoint
