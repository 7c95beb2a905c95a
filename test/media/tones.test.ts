import { describe, expect, it } from 'vitest';
import { hangUpDue, promptStale } from '../../shared/media/hangUpRule.js';
import { MAX_TONES, toneChange } from '../../shared/media/tones.js';
import type { PromptPlayback } from '../../shared/calls/callStore.js';
import type { OutgoingCall } from '../../shared/outgoing/outgoingCall.js';

const at = new Date('2026-11-24T10:00:00Z');
const after = (seconds: number) => new Date(at.getTime() + seconds * 1000);
const outgoing = (extra: Partial<OutgoingCall>): OutgoingCall => ({
  targets: [{ kind: 'user', userId: '112f7296-5fa4-42ca-bae8-6a692b15d4b8' }],
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  source: { kind: 'application', id: '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50' },
  collectTone: true,
  ...extra,
});
const finished: PromptPlayback = {
  uri: 'https://x/a.wav',
  status: 'completed',
  requestedAt: at.toISOString(),
  finishedAt: at.toISOString(),
};
const pressed = [{ sequenceId: 1, tone: 'tone1', at: at.toISOString() }];

describe('toneChange', () => {
  it('appends a key press once per sequenceId, in sequence order', () => {
    const first = toneChange({}, { sequenceId: 2, tone: 'tone2' }, at);
    expect(first).toEqual({ tones: [{ sequenceId: 2, tone: 'tone2', at: at.toISOString() }] });
    const earlier = toneChange(first!, { sequenceId: 1, tone: 'tone1' }, at);
    expect(earlier!.tones!.map((t) => t.tone)).toEqual(['tone1', 'tone2']);
    expect(toneChange(earlier!, { sequenceId: 1, tone: 'tone1' }, at)).toBeUndefined();
  });

  it(`keeps no more than ${MAX_TONES} presses`, () => {
    const full = Array.from({ length: MAX_TONES }, (_, i) => ({ sequenceId: i + 1, tone: 'tone1', at: at.toISOString() }));
    expect(toneChange({ tones: full }, { sequenceId: MAX_TONES + 1, tone: 'tone2' }, at)).toBeUndefined();
  });
});

describe('hangUpDue', () => {
  it('hangs up after the prompt once it has ended, completed or failed, and not while it plays', () => {
    const call = { outgoing: outgoing({ prompt: 'https://x/a.wav', hangUpAfter: 'prompt' }) };
    expect(hangUpDue({ ...call, prompt: finished }, at, 60)).toBe('its prompt completed');
    expect(hangUpDue({ ...call, prompt: { ...finished, status: 'failed' } }, at, 60)).toBe('its prompt failed');
    expect(hangUpDue({ ...call, prompt: { ...finished, status: 'running', finishedAt: undefined } }, at, 60)).toBeUndefined();
  });

  it('hangs up at the first key, or when none came within the timeout of the prompt ending', () => {
    const call = { outgoing: outgoing({ prompt: 'https://x/a.wav', hangUpAfter: 'tone' }), prompt: finished };
    expect(hangUpDue({ ...call, tones: pressed }, at, 60)).toBe('key tone1 was pressed');
    expect(hangUpDue(call, after(59), 60)).toBeUndefined();
    expect(hangUpDue(call, after(60), 60)).toBe('no key was pressed within 60 s');
    expect(hangUpDue({ ...call, prompt: { ...finished, status: 'running', finishedAt: undefined } }, after(600), 60)).toBeUndefined();
  });

  it('counts from establishment without a prompt; never for a call already being hung up or without a rule', () => {
    expect(hangUpDue({ outgoing: outgoing({ hangUpAfter: 'tone' }), establishedAt: at }, after(60), 60)).toBe(
      'no key was pressed within 60 s',
    );
    expect(hangUpDue({ outgoing: outgoing({ hangUpAfter: 'tone' }), tones: pressed, hangUpRequestedAt: at }, at, 60)).toBeUndefined();
    expect(hangUpDue({ outgoing: outgoing({}), tones: pressed }, at, 60)).toBeUndefined();
  });
});

describe('promptStale', () => {
  it('gives up on a requested prompt after 5 minutes and a running one after an hour', () => {
    const requested: PromptPlayback = { uri: 'https://x/a.wav', status: 'requested', requestedAt: at.toISOString() };
    expect(promptStale(requested, after(299))).toBe(false);
    expect(promptStale(requested, after(300))).toBe(true);
    expect(promptStale({ ...requested, status: 'running' }, after(3599))).toBe(false);
    expect(promptStale({ ...requested, status: 'running' }, after(3600))).toBe(true);
    expect(promptStale({ uri: 'https://x/a.wav', status: 'pending' }, after(99_999))).toBe(false);
    expect(promptStale(finished, after(99_999))).toBe(false);
  });
});
