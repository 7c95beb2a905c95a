import { describe, expect, it } from 'vitest';
import { toneChange, toneWaitOver } from '../../shared/media/tones.js';
import type { OutgoingCall } from '../../shared/outgoing/outgoingCall.js';

const at = new Date('2026-11-24T10:00:00Z');
const outgoing = (extra: Partial<OutgoingCall>): OutgoingCall => ({
  targets: [{ kind: 'user', userId: '112f7296-5fa4-42ca-bae8-6a692b15d4b8' }],
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  source: { kind: 'application', id: '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50' },
  collectTone: true,
  ...extra,
});

describe('toneChange', () => {
  it('appends a key press once per sequenceId, in sequence order', () => {
    const first = toneChange({}, { sequenceId: 2, tone: 'tone2' }, at);
    expect(first).toEqual({ tones: [{ sequenceId: 2, tone: 'tone2', at: at.toISOString() }] });
    const earlier = toneChange(first!, { sequenceId: 1, tone: 'tone1' }, at);
    expect(earlier!.tones!.map((t) => t.tone)).toEqual(['tone1', 'tone2']);
    expect(toneChange(earlier!, { sequenceId: 1, tone: 'tone1' }, at)).toBeUndefined();
  });
});

describe('toneWaitOver', () => {
  const finished = { uri: 'https://x/a.wav', status: 'completed' as const, requestedAt: at.toISOString(), finishedAt: at.toISOString() };
  const after = (seconds: number) => new Date(at.getTime() + seconds * 1000);

  it('counts from the end of the prompt, and only for hangUpAfter "tone" with no key yet', () => {
    const call = {
      state: 'established' as const,
      outgoing: outgoing({ prompt: 'https://x/a.wav', hangUpAfter: 'tone' }),
      prompt: finished,
    };
    expect(toneWaitOver(call, after(59), 60)).toBe(false);
    expect(toneWaitOver(call, after(60), 60)).toBe(true);
    expect(toneWaitOver({ ...call, tones: [{ sequenceId: 1, tone: 'tone1', at: at.toISOString() }] }, after(600), 60)).toBe(false);
    expect(toneWaitOver({ ...call, outgoing: outgoing({ prompt: 'https://x/a.wav' }) }, after(600), 60)).toBe(false);
    expect(toneWaitOver({ ...call, hangUpRequestedAt: at }, after(600), 60)).toBe(false);
  });

  it('waits while the prompt plays, and counts from establishment when there is no prompt', () => {
    const playing = { ...finished, status: 'running' as const, finishedAt: undefined };
    expect(
      toneWaitOver(
        { state: 'established', outgoing: outgoing({ prompt: 'https://x/a.wav', hangUpAfter: 'tone' }), prompt: playing },
        after(600),
        60,
      ),
    ).toBe(false);
    expect(toneWaitOver({ state: 'established', outgoing: outgoing({ hangUpAfter: 'tone' }), establishedAt: at }, after(60), 60)).toBe(
      true,
    );
  });
});
