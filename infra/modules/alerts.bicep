// Alert rules on the app's telemetry (docs/operations.md, Telemetry): a call dropped for a missing
// keepAlive, a keepAlive older than 30 minutes (Graph drops a call at 45), a failed sweep, and the
// health route answering 503. Each is a log search alert on the Application Insights resource,
// evaluated every 5 minutes; with an e-mail address they also notify it.

@description('Application Insights resource the rules query.')
param applicationInsightsId string

@description('Azure region.')
param location string

@description('Tags for the rules.')
param tags object

@description('Where alerts are sent; empty = the rules fire in Azure Monitor only.')
param alertEmail string = ''

@description('Name prefix of the rules.')
param namePrefix string

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-oncall'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'callingbot'
    enabled: true
    emailReceivers: [
      {
        name: 'oncall'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var rules = [
  {
    name: 'call-dropped-for-missing-keepalive'
    severity: 1
    description: 'Graph ended a call because it got no keepAlive for 45 minutes.'
    query: 'customEvents | where name == "CallDroppedForMissingKeepAlive"'
  }
  {
    name: 'keepalive-older-than-30-minutes'
    severity: 2
    description: 'A call has had no successful keepAlive for over 30 minutes; Graph drops it at 45.'
    query: 'customMetrics | where name == "keepalive.oldest_age_minutes" and value > 30'
  }
  {
    name: 'keepalive-sweep-failed'
    severity: 2
    description: 'A keepAlive sweep failed (it stopped, or every keepAlive it sent failed).'
    query: 'customMetrics | where name == "keepalive.sweeps" and tostring(customDimensions.outcome) == "failed"'
  }
  {
    name: 'health-unhealthy'
    severity: 2
    description: 'GET /api/health answered 503: calls are not all being kept alive.'
    query: 'requests | where name == "health" and resultCode == "503"'
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: rule.name
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [applicationInsightsId]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT5M'
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      actions: {
        actionGroups: empty(alertEmail) ? [] : [actionGroup.id]
      }
    }
  }
]
