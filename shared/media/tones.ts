import type { CallChange, CallRecord } from '../calls/callStore.js';

/**
 * The change a key press makes to a call: the tone appended, in press order, once per Graph
 * sequenceId, so a redelivered notification adds no second press. Pure.
 */
export function toneChange(
  current: Pick<CallRecord, 'tones'>,
  tone: { sequenceId: number; tone: string },
  now: Date,
): CallChange | undefined {
  const tones = current.tones ?? [];
  if (tones.some((t) => t.sequenceId === tone.sequenceId)) return undefined;
  const next = [...tones, { sequenceId: tone.sequenceId, tone: tone.tone, at: now.toISOString() }];
  return { tones: next.sort((a, b) => a.sequenceId - b.sequenceId) };
}

/**
 * Whether a call placed with `hangUpAfter: "tone"` has waited long enough for a key press: none came
 * within `seconds` of its prompt finishing (or, without a prompt, of the call being established).
 * Pure; the sweep asks it, as it asks whether to leave an empty meeting.
 */
export function toneWaitOver(
  call: Pick<CallRecord, 'outgoing' | 'tones' | 'prompt' | 'establishedAt' | 'state' | 'hangUpRequestedAt'>,
  now: Date,
  seconds: number,
): boolean {
  if (call.outgoing?.hangUpAfter !== 'tone' || (call.tones?.length ?? 0) > 0 || call.hangUpRequestedAt !== undefined) return false;
  let since: Date | undefined;
  if (call.outgoing.prompt !== undefined) {
    const finished = call.prompt?.finishedAt;
    since = finished === undefined ? undefined : new Date(finished);
  } else {
    since = call.establishedAt;
  }
  return since !== undefined && now.getTime() - since.getTime() >= seconds * 1000;
}
