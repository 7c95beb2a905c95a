import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { incomingCallNotification, promptOperationNotification, SIM_TENANT_ID, stateNotification } from '../../tools/graphSimulator.js';
import { startHarness, type Harness } from '../support/harness.js';

// An outgoing call's prompt (https://learn.microsoft.com/en-us/graph/api/call-playprompt), its key
// presses (https://learn.microsoft.com/en-us/graph/api/call-subscribetotone), and the app-wide
// welcome prompt of answered incoming calls, through the notifications function and the simulator.

const U1 = '112f7296-5fa4-42ca-bae8-6a692b15d4b8';
const PROMPT = 'https://cdn.example.test/incident.wav';
const WELCOME = 'https://cdn.example.test/welcome.wav';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ WELCOME_PROMPT_URL: WELCOME, TONE_TIMEOUT_SECONDS: '60', KEEPALIVE_INTERVAL_MINUTES: '0' });
});
afterAll(() => h.stop());
beforeEach(() => {
  h.sim.clearFaults();
  h.sim.promptOutcome = 'completed';
  h.sim.promptAnswer = 'running';
});

/** Places a call, and the callee picks up; resolves once every notification Graph sent on its own was handled. */
async function answeredCall(body: Record<string, unknown>): Promise<string> {
  const response = await h.placeCall({ targets: [{ userId: U1 }], ...body });
  expect(response.status).toBe(201);
  const { callId } = response.jsonBody as { callId: string };
  await h.sim.answerOutgoing(callId);
  await h.sim.idle();
  return callId;
}

const promptsOf = (callId: string) => h.sim.requestsTo('playPrompt', callId);

describe('a placed call with a prompt', () => {
  it('plays the prompt once established (clientContext = the call id), records its end, and hangs up after it', async () => {
    const callId = await answeredCall({ prompt: PROMPT, hangUpAfter: 'prompt', clientContext: 'incident-7' });
    expect(promptsOf(callId).map((r) => r.body)).toEqual([
      {
        clientContext: callId,
        prompts: [
          { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri: PROMPT } },
        ],
      },
    ]);
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
    expect(await h.runtime.store.get(callId)).toBeUndefined();
    expect(h.logs).toContainEqual({ level: 'information', message: `Call ${callId}: hanging up (its prompt completed)` });
  });

  it('keeps the call when the prompt ends and nothing asks for a hang-up: a finished operation ("deleted") is no end of the call', async () => {
    const callId = await answeredCall({ prompt: PROMPT });
    const row = await h.runtime.store.get(callId);
    expect(row!.state).toBe('established');
    expect(row!.prompt).toMatchObject({
      uri: PROMPT,
      status: 'completed',
      operationId: h.sim.calls.get(callId)!.prompts![0]!.operationId,
      resultInfo: { code: 200, subcode: 0, message: 'Action completed successfully.' },
    });
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(0);
  });

  it('does not play again when Graph delivers established twice', async () => {
    const callId = await answeredCall({ prompt: PROMPT });
    await h.post(h.sim.fromCall(stateNotification(callId, 'established'), h.sim.calls.get(callId)));
    expect(promptsOf(callId)).toHaveLength(1);
  });

  it('records a prompt Graph could not play, and still hangs up when asked to', async () => {
    h.sim.promptOutcome = 'failed';
    const callId = await answeredCall({ prompt: PROMPT, hangUpAfter: 'prompt' });
    expect(h.logs.some((l) => l.message.startsWith(`Call ${callId}: prompt failed (resultInfo 400/8507`))).toBe(true);
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
  });

  it('does not repeat a playPrompt whose answer was a 5xx (it may have played), records it failed', async () => {
    h.sim.failNext('playPrompt', { status: 503, times: 1, afterWork: true });
    const callId = await answeredCall({ prompt: PROMPT });
    expect(promptsOf(callId)).toHaveLength(1);
    const row = await h.runtime.store.get(callId);
    expect(row!.prompt).toMatchObject({ status: 'failed', resultInfo: { code: 503 } });
    expect(row!.state).toBe('established');
  });

  it('plays no welcome prompt on a placed call without a prompt of its own', async () => {
    const callId = await answeredCall({});
    expect(promptsOf(callId)).toHaveLength(0);
  });
});

describe('key presses', () => {
  it('subscribes before the prompt, records each key once per sequenceId in press order, and never ends the call for it', async () => {
    const callId = await answeredCall({ prompt: PROMPT, collectTone: true });
    const subscribe = h.sim.requestsTo('subscribeToTone', callId);
    expect(subscribe.map((r) => r.body)).toEqual([{ clientContext: callId }]);
    expect(subscribe[0]!.receivedAt).toBeLessThanOrEqual(promptsOf(callId)[0]!.receivedAt);

    await h.sim.pressKey(callId, 'tone1');
    // Graph delivers the same key press again.
    const call = h.sim.calls.get(callId)!;
    const again = stateNotification(callId, 'established', {
      toneInfo: { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: 1, tone: 'tone1' },
    });
    expect((await h.post(h.sim.fromCall(again, call))).status).toBe(202);
    await h.sim.pressKey(callId, 'pound');

    const row = await h.runtime.store.get(callId);
    expect(row!.tones!.map(({ sequenceId, tone }) => ({ sequenceId, tone }))).toEqual([
      { sequenceId: 1, tone: 'tone1' },
      { sequenceId: 2, tone: 'pound' },
    ]);
    expect(row!.state).toBe('established');
  });

  it('hangs up at the first key press with hangUpAfter "tone"', async () => {
    h.sim.promptOutcome = 'held';
    const callId = await answeredCall({ prompt: PROMPT, collectTone: true, hangUpAfter: 'tone' });
    // Pressed during the prompt: it counts.
    await h.sim.pressKey(callId, 'tone1');
    await h.sim.idle();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
    expect(await h.runtime.store.get(callId)).toBeUndefined();
  });

  it('hangs up when no key came within TONE_TIMEOUT_SECONDS of the prompt finishing (the sweep checks it)', async () => {
    const callId = await answeredCall({ prompt: PROMPT, collectTone: true, hangUpAfter: 'tone' });
    await h.sweep();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(0);

    h.clock.advanceMinutes(1);
    await h.sweep();
    await h.sim.idle();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
    expect(h.logs).toContainEqual({ level: 'information', message: `Call ${callId}: hanging up (no key was pressed within 60 s)` });
  });
});

describe('the welcome prompt (WELCOME_PROMPT_URL)', () => {
  it('plays once on an answered incoming call, however often established is delivered', async () => {
    const call = await h.establishedCall();
    await h.sim.idle();
    await h.post(stateNotification(call.id, 'established'));
    expect(promptsOf(call.id).map((r) => (r.body as { prompts: { mediaInfo: { uri: string } }[] }).prompts[0]!.mediaInfo.uri)).toEqual([
      WELCOME,
    ]);
    expect((await h.runtime.store.get(call.id))!.prompt).toMatchObject({ uri: WELCOME, status: 'completed' });
  });

  it('is never played into a policy-based recording call, where the bot is a silent recorder', async () => {
    const call = h.sim.placeIncomingCall();
    // The invitation of https://learn.microsoft.com/en-us/graph/api/call-answer (example 3), trimmed.
    await h.post(
      incomingCallNotification(call.id, {
        tenantId: SIM_TENANT_ID,
        applicationMetadata: { botData: { inviteReasons: ['PolicyBasedRecording'], policyIdentifier: 'Test Policy' } },
      }),
    );
    await h.post(stateNotification(call.id, 'established'));
    expect(await h.runtime.store.get(call.id)).toMatchObject({ state: 'established', policyRecording: true });
    expect(promptsOf(call.id)).toHaveLength(0);
  });

  it('is not played mid-call into a call answered before it was configured (its row has no pending prompt)', async () => {
    const call = h.sim.placeIncomingCall();
    call.state = 'established';
    await h.runtime.store.insert({
      callId: call.id,
      state: 'established',
      createdAt: h.clock.now(),
      keepAliveFailures: 0,
      direction: 'incoming',
    });
    await h.post(stateNotification(call.id, 'established'));
    expect(promptsOf(call.id)).toHaveLength(0);
  });
});

describe('hang-up rules that need a second chance', () => {
  it('tries a failed hang-up again at the next sweep instead of leaving the call up', async () => {
    h.sim.failNext('delete', { status: 500, times: 1 });
    const callId = await answeredCall({ prompt: PROMPT, hangUpAfter: 'prompt' });
    expect(h.sim.requestsTo('delete', callId).map((r) => r.status)).toEqual([500]);
    expect((await h.runtime.store.get(callId))!.hangUpRequestedAt).toBeUndefined();

    await h.sweep();
    await h.sim.idle();
    expect(h.sim.requestsTo('delete', callId).map((r) => r.status)).toEqual([500, 204]);
    expect(await h.runtime.store.get(callId)).toBeUndefined();
  });

  it('counts the tone wait from a prompt Graph answered as already completed (no notification follows)', async () => {
    h.sim.promptAnswer = 'completed';
    const callId = await answeredCall({ prompt: PROMPT, collectTone: true, hangUpAfter: 'tone' });
    expect((await h.runtime.store.get(callId))!.prompt).toMatchObject({ status: 'completed', finishedAt: expect.any(String) as string });
    h.clock.advanceMinutes(1);
    await h.sweep();
    await h.sim.idle();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
  });

  it('gives up on a prompt whose end never comes, then applies the hang-up rule', async () => {
    h.sim.promptOutcome = 'held';
    const callId = await answeredCall({ prompt: PROMPT, hangUpAfter: 'prompt' });
    h.clock.advanceMinutes(61);
    await h.sweep();
    expect((await h.runtime.store.get(callId))!.prompt).toMatchObject({ status: 'failed' });
    await h.sweep();
    await h.sim.idle();
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
  });

  it('sends one DELETE when two hang-ups of the same call meet (a key press and an operator at once)', async () => {
    const callId = await answeredCall({});
    const answers = await Promise.all([h.hangUp(callId), h.hangUp(callId)]);
    await h.sim.idle();
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
    expect(((await h.getCall(callId)).jsonBody as { resultInfo: unknown }).resultInfo).toMatchObject({ code: 200, subcode: 7000 });
  });

  it('reads the row once when the callee picks up, though the tone subscription, the prompt and its start are each written', async () => {
    h.sim.promptOutcome = 'held';
    const response = await h.placeCall({ targets: [{ userId: U1 }], prompt: PROMPT, collectTone: true });
    const { callId } = response.jsonBody as { callId: string };
    await h.sim.idle();
    const reads = vi.spyOn(h.runtime.store, 'get');
    try {
      await h.sim.answerOutgoing(callId);
      await h.sim.idle();
      expect(h.sim.requestsTo('subscribeToTone', callId)).toHaveLength(1);
      expect(promptsOf(callId)).toHaveLength(1);
      // The established notification's own update; each claim after it starts from the row the write before returned.
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
    }
    expect((await h.runtime.store.get(callId))!.prompt).toMatchObject({ status: 'running' });
  });

  it("reads the row once per write when a prompt's end hangs the call up (the operation's update, the hang-up's mark)", async () => {
    h.sim.promptOutcome = 'held';
    const callId = await answeredCall({ prompt: PROMPT, hangUpAfter: 'prompt' });
    const operationId = h.sim.calls.get(callId)!.prompts![0]!.operationId;
    // Graph's terminated notification after the DELETE is held back, so only the operation's handling is counted.
    const deliver = h.sim.onNotification;
    h.sim.onNotification = () => Promise.resolve();
    const reads = vi.spyOn(h.runtime.store, 'get');
    try {
      await h.post(promptOperationNotification(callId, operationId, 'completed', callId));
      expect(h.sim.requestsTo('delete', callId)).toHaveLength(1);
      expect(reads).toHaveBeenCalledTimes(2);
    } finally {
      reads.mockRestore();
      h.sim.onNotification = deliver;
    }
  });
});
