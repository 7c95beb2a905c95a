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
  const kind = source.kind === 'application' ? 'application' : 'applicationInstance';
  const displayName = source.kind === 'applicationInstance' ? source.displayName : undefined;
  return { '@odata.type': '#microsoft.graph.participantInfo', identity: identitySet(kind, { id: source.id, displayName }) };
}

function invitation(target: OutgoingTarget): Record<string, unknown> {
  const identity =
    target.kind === 'phone'
      ? identitySet('phone', { id: target.phone })
      : identitySet('user', { id: target.userId, displayName: target.displayName, tenantId: target.tenantId });
  return { '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity };
}

/** An identitySet naming one identity of `kind`, its absent fields left out. */
function identitySet(kind: 'application' | 'applicationInstance' | 'user' | 'phone', fields: Record<string, string | undefined>) {
  const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  return { '@odata.type': '#microsoft.graph.identitySet', [kind]: { '@odata.type': '#microsoft.graph.identity', ...present } };
}
