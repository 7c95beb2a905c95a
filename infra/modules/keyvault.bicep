// Key Vault (RBAC authorization, soft delete) that holds the bot's client secret. The app reads it
// through a Key Vault reference resolved with the user-assigned identity, which gets Key Vault
// Secrets User on this vault.

@description('Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags object

@description('Principal (object) id of the app identity that reads the secret.')
param readerPrincipalId string

@secure()
@description('Client secret of the bot app registration, stored as secret bot-app-secret.')
param botAppSecret string

// Built-in role: Key Vault Secrets User (read secret contents).
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Purge protection is left off so that `azd down --purge` can remove the vault.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource botSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'bot-app-secret'
  properties: {
    value: botAppSecret
    contentType: 'text/plain'
  }
}

resource secretsUserRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output id string = vault.id
@description('Versionless secret URI, so the app setting follows the newest version of the secret.')
output botCredentialUri string = botSecret.properties.secretUri
