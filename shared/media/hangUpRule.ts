import type { CallRecord, PromptPlayback } from '../calls/callStore.js';

type PlacedCall = Pick<CallRecord, 'outgoing' | 'tones' | 'prompt' | 'establishedAt' | 'hangUpRequestedAt'>;

/**
 * Why a placed call is to be hung up now under its `hangUpAfter` rule, or undefined: its prompt
 * ended (`prompt`); a key was pressed, or none came within `toneTimeoutSeconds` of the prompt's end
 * (or, without a prompt, of the call being established) (`tone`). Pure. The notification that ends
 * the prompt or brings the key hangs up at once; the sweep asks again on every pass, so a hang-up
 * that failed (its mark cleared) is tried again rather than leaving the call up.
 */
export function hangUpDue(call: PlacedCall, now: Date, toneTimeoutSeconds: number): string | undefined {
  const rule = call.outgoing?.hangUpAfter;
  if (rule === undefined || call.hangUpRequestedAt !== undefined) return undefined;
  const prompt = call.prompt;
  if (rule === 'prompt') return prompt && finished(prompt) ? `its prompt ${prompt.status}` : undefined;
  const [first] = call.tones ?? [];
  if (first) return `key ${first.tone} was pressed`;
  let since: Date | undefined;
  if (call.outgoing?.prompt !== undefined) since = prompt?.finishedAt === undefined ? undefined : new Date(prompt.finishedAt);
  else since = call.establishedAt;
  return since !== undefined && now.getTime() - since.getTime() >= toneTimeoutSeconds * 1000
    ? `no key was pressed within ${toneTimeoutSeconds} s`
    : undefined;
}

const finished = (prompt: PromptPlayback) => prompt.status === 'completed' || prompt.status === 'failed';

// A playPrompt asked for but with no outcome recorded (the instance stopped between the claim and
// the request, or the response was lost), or a prompt whose operation notification never came.
const REQUESTED_LIMIT_MS = 5 * 60_000;
const RUNNING_LIMIT_MS = 60 * 60_000;

/** Whether a prompt has waited for its outcome too long to expect one: the sweep then records it failed. Pure. */
export function promptStale(prompt: PromptPlayback | undefined, now: Date): boolean {
  if (prompt?.requestedAt === undefined || (prompt.status !== 'requested' && prompt.status !== 'running')) return false;
  const age = now.getTime() - new Date(prompt.requestedAt).getTime();
  return age >= (prompt.status === 'requested' ? REQUESTED_LIMIT_MS : RUNNING_LIMIT_MS);
}
