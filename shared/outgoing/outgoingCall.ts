/**
 * A call the bot places (`POST /api/calls/outgoing`): to one Teams user (peer-to-peer), to two to
 * five users (a group call), or to one phone number from an application instance with a PSTN number
 * (https://learn.microsoft.com/en-us/graph/api/application-post-calls). Kept on the call's row (and
 * on its ledger entry before the create), so whichever instance receives the call's notifications
 * knows what to play, whether to collect key presses, and when to hang up.
 */
export interface OutgoingCall {
  targets: OutgoingTarget[];
  /** The tenant Graph places the call in: the user targets' own, else the bot's. */
  tenantId: string;
  /** Who the call comes from: the bot itself, or for a phone call its application instance. */
  source: CallSource;
  /** A public https URL of a WAV file, played once the call is established. */
  prompt?: string | undefined;
  /** Subscribe to the callee's key presses (DTMF) and record them. */
  collectTone: boolean;
  hangUpAfter?: HangUpAfter | undefined;
  /** The caller's own id for this call, echoed back in the call's record. */
  clientContext?: string | undefined;
}

export type OutgoingTarget =
  { kind: 'user'; userId: string; tenantId?: string | undefined; displayName?: string | undefined } | PhoneTarget;

export interface PhoneTarget {
  kind: 'phone';
  /** E.164, e.g. +14255550123. */
  phone: string;
}

export type CallSource =
  { kind: 'application'; id: string } | { kind: 'applicationInstance'; id: string; displayName?: string | undefined };

/** `prompt`: once the prompt has played (or failed); `tone`: at the first key press. */
export type HangUpAfter = 'prompt' | 'tone';

/** A phone number shown with its middle digits hidden, for logs. */
export function maskedPhone(phone: string): string {
  return phone.length <= 7 ? '+…' : `${phone.slice(0, 4)}…${phone.slice(-2)}`;
}

/** A few words naming the call's callees, for logs (phone numbers masked). */
export function describeOutgoing(call: Pick<OutgoingCall, 'targets'>): string {
  const [first] = call.targets;
  if (first?.kind === 'phone') return `phone call to ${maskedPhone(first.phone)}`;
  if (call.targets.length === 1) return `call to user ${first?.userId ?? '?'}`;
  return `group call to ${call.targets.length} users`;
}
