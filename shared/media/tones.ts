import type { CallChange, CallRecord } from '../calls/callStore.js';

// Key presses are the callee's to make: a stuck key must not grow the row towards Table Storage's
// size limits (a write refused for size would then lose the call's other updates).
export const MAX_TONES = 100;

/**
 * The change a key press makes to a call: the tone appended, in press order, once per Graph
 * sequenceId, so a redelivered notification adds no second press. Presses past `MAX_TONES` are
 * not kept. Pure.
 */
export function toneChange(
  current: Pick<CallRecord, 'tones'>,
  tone: { sequenceId: number; tone: string },
  now: Date,
): CallChange | undefined {
  const tones = current.tones ?? [];
  if (tones.length >= MAX_TONES || tones.some((t) => t.sequenceId === tone.sequenceId)) return undefined;
  const next = [...tones, { sequenceId: tone.sequenceId, tone: tone.tone, at: now.toISOString() }];
  return { tones: next.sort((a, b) => a.sequenceId - b.sequenceId) };
}
