import type { CallChange, CallRecord } from './callStore.js';

type JsonObject = Record<string, unknown>;

/**
 * What a roster notification (`/communications/calls/{id}/participants`, https://learn.microsoft.com/en-us/graph/api/application-post-calls
 * "Notification - roster") changes on the row. The roster lists everyone in the call, the bot
 * included; the bot is the participant with its own participant id, or the one whose identity is
 * the bot's application. Pure; `undefined` when nothing changes.
 */
export function rosterChange(
  current: Pick<CallRecord, 'myParticipantId' | 'participantCount' | 'alone'>,
  participants: readonly JsonObject[],
  botAppId: string,
  now: Date,
): CallChange | undefined {
  const participantCount = participants.length;
  const others = participants.filter((p) => !isBot(p, current.myParticipantId, botAppId)).length;
  const alone = others === 0;
  if (participantCount === current.participantCount && alone === current.alone) return undefined;
  return { participantCount, alone, aloneSince: alone && current.alone !== true ? now : undefined };
}

function isBot(participant: JsonObject, myParticipantId: string | undefined, botAppId: string): boolean {
  if (myParticipantId !== undefined && participant['id'] === myParticipantId) return true;
  const identity = (participant['info'] as JsonObject | undefined)?.['identity'] as JsonObject | undefined;
  const appId = (key: string) => ((identity?.[key] as JsonObject | undefined)?.['id'] as string | undefined)?.toLowerCase();
  const bot = botAppId.toLowerCase();
  return appId('application') === bot || appId('applicationInstance') === bot;
}
