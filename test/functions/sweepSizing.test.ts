import { afterEach, describe, expect, it } from 'vitest';
import type { SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import { startHarness, type Harness } from '../support/harness.js';

// The sweep's in-flight count follows Graph: it grows while Graph answers promptly, up to
// KEEPALIVE_MAX_IN_FLIGHT, and halves when Graph throttles (see InFlightController).

let h: Harness;
afterEach(() => h.stop());

async function liveCalls(count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const call = h.sim.placeIncomingCall();
      call.state = 'established';
      await h.runtime.store.insert({ callId: call.id, state: 'established', createdAt: h.clock.now(), keepAliveFailures: 0 });
    }),
  );
}

describe('a sweep that sizes itself', () => {
  it('grows past its starting 16 while Graph answers promptly, and never past KEEPALIVE_MAX_IN_FLIGHT', async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '48' });
    h.sim.latencyMs = 40;
    await liveCalls(300);
    const summary = await h.sweep();
    expect(summary).toMatchObject({ sent: 300, ok: 300 });
    expect(summary.peakInFlight).toBeGreaterThan(16);
    expect(summary.peakInFlight).toBeLessThanOrEqual(48);
    expect(h.sim.peakInFlight).toBeGreaterThan(16);
    expect(h.sim.peakInFlight).toBeLessThanOrEqual(48);
  });

  it('backs off when Graph throttles: no more than it started with while 429s come', async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '48' });
    h.sim.latencyMs = 40;
    await liveCalls(120);
    h.sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 0, times: 60, code: 'TooManyRequests' });
    const summary = await h.sweep();
    // A call whose retries all met a 429 is kept alive by the next sweep.
    expect(summary.sent).toBe(120);
    expect(summary.ok + summary.failed).toBe(120);
    expect(summary.peakInFlight).toBe(16);
    expect(h.sim.peakInFlight).toBeLessThanOrEqual(16);
  });

  it('fans out below SWEEP_FANOUT_THRESHOLD when the latest sweep found Graph too slow for one instance', async () => {
    // At 2 s a round trip and 1 in flight, one sweep reaches 90 calls: a table of 220 (a third due each sweep) is too many.
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '1' });
    await liveCalls(220);
    const at = h.clock.now();
    await h.runtime.sweepStatus.record({
      scope: 'timer',
      startedAt: at,
      finishedAt: at,
      outcome: 'ok',
      summary: { ...EMPTY_SWEEP, meanLatencyMs: 2_000 },
    });
    await expect(h.sweep()).rejects.toThrow('it fanned-out');
    expect(h.logs.some((l) => l.message.includes('one instance keeps about 216 calls alive'))).toBe(true);
  });
});

const EMPTY_SWEEP: SweepSummary = {
  active: 0,
  due: 0,
  sent: 0,
  ok: 0,
  ended: 0,
  failed: 0,
  unreadable: 0,
  skippedForBudget: 0,
  peakInFlight: 1,
  budgetExhausted: false,
  durationMs: 0,
  oldestKeepAliveAgeMinutes: undefined,
};
