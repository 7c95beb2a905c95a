import type { CreateCallRequest } from '../graph/graphCalls.js';
import type { CallSource, OutgoingCall, OutgoingTarget } from './outgoingCall.js';

/**
 * `POST /communications/calls` for a call the bot places, with service-hosted media and audio only,
 * shaped as the create-call examples are (https://learn.microsoft.com/en-us/graph/api/application-post-calls):
 * peer-to-peer to a user (example 1), a group call to users (with the bot as `source` and
 * `direction: outgoing`), and a call to a phone number from an application instance.
 */
export function outgoingCallBody(call: OutgoingCall, callbackUri: string): CreateCallRequest {
  const group = call.targets.length > 1;
  return {
    '@odata.type': '#microsoft.graph.call',
    ...(group ? { direction: 'outgoing' as const } : {}),
    callbackUri,
    ...(group || call.source.kind === 'applicationInstance' ? { source: sourceOf(call.source) } : {}),
    targets: call.targets.map(invitation),
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    tenantId: call.tenantId,
  };
}

function sourceOf(source: CallSource): Record<string, unknown> {
  const identity =
    source.kind === 'application'
      ? { application: { '@odata.type': '#microsoft.graph.identity', id: source.id } }
      : {
          applicationInstance: {
            '@odata.type': '#microsoft.graph.identity',
            id: source.id,
            ...(source.displayName === undefined ? {} : { displayName: source.displayName }),
          },
        };
  return { '@odata.type': '#microsoft.graph.participantInfo', identity: { '@odata.type': '#microsoft.graph.identitySet', ...identity } };
}

function invitation(target: OutgoingTarget): Record<string, unknown> {
  const identity =
    target.kind === 'phone'
      ? { phone: { '@odata.type': '#microsoft.graph.identity', id: target.phone } }
      : {
          user: {
            '@odata.type': '#microsoft.graph.identity',
            id: target.userId,
            ...(target.displayName === undefined ? {} : { displayName: target.displayName }),
            ...(target.tenantId === undefined ? {} : { tenantId: target.tenantId }),
          },
        };
  return {
    '@odata.type': '#microsoft.graph.invitationParticipantInfo',
    identity: { '@odata.type': '#microsoft.graph.identitySet', ...identity },
  };
}
