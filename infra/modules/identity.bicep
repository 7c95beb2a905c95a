// User-assigned managed identity of the function app. It is the one identity the app uses for
// everything without a secret: host storage (AzureWebJobsStorage), the call table and the shard
// queue, the Flex Consumption deployment container, the Key Vault reference and Application Insights.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
