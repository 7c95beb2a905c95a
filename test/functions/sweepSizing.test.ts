import { afterEach, describe, expect, it } from 'vitest';
import { fanOutDepsOf } from '../../functions/app/runtime.js';
import { sweepKeepAlive, type SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import { startHarness, testContext, type Harness } from '../support/harness.js';

// The sweep's in-flight count follows Graph: it grows while Graph answers promptly, up to
// KEEPALIVE_MAX_IN_FLIGHT, and halves when Graph throttles (see InFlightController). The timer's
// sweep also paces itself: no more in flight than its counted calls need within a third of its budget
// (see sweepPace.ts). A shard sweep does not pace itself: it sweeps as fast as Graph allows.

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

/** A sweep without a pace, as a shard's runs. */
const unpacedSweep = (): Promise<SweepSummary> => sweepKeepAlive(fanOutDepsOf(h.runtime, testContext('keepAliveShardSweep', h.logs)));

describe('a sweep that sizes itself', () => {
  it('grows past its starting 16 while Graph answers promptly, and never past KEEPALIVE_MAX_IN_FLIGHT', async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '48' });
    h.sim.latencyMs = 40;
    await liveCalls(300);
    const summary = await unpacedSweep();
    expect(summary).toMatchObject({ sent: 300, ok: 300 });
    expect(summary.peakInFlight).toBeGreaterThan(16);
    expect(summary.peakInFlight).toBeLessThanOrEqual(48);
    // It started at 16 and grew: its mean lies between.
    expect(summary.meanInFlight).toBeGreaterThan(16);
    expect(summary.meanInFlight).toBeLessThan(summary.peakInFlight);
    expect(h.sim.peakInFlight).toBeGreaterThan(16);
    expect(h.sim.peakInFlight).toBeLessThanOrEqual(48);
  });

  it('backs off when Graph throttles: the slow start ends at the first 429, and growth is one per round trip', async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '48' });
    h.sim.latencyMs = 40;
    await liveCalls(120);
    h.sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 0, times: 60, code: 'TooManyRequests' });
    const summary = await unpacedSweep();
    // A call whose retries all met a 429 is kept alive by the next sweep.
    expect(summary.sent).toBe(120);
    expect(summary.ok + summary.failed).toBe(120);
    // Unthrottled, the same sweep doubles to the ceiling of 48 within a few round trips (above).
    expect(summary.peakInFlight).toBeLessThan(32);
    expect(h.sim.peakInFlight).toBeLessThan(32);
  });
});

describe("the timer's sweep paces itself to its calls", () => {
  it('keeps no more in flight than its 16 when that is plenty for its calls in its budget, however promptly Graph answers', async () => {
    // The same 300 calls and prompt Graph as the first test above, where the count grows past 16.
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '48' });
    h.sim.latencyMs = 40;
    await liveCalls(300);
    const summary = await h.sweep();
    expect(summary).toMatchObject({ sent: 300, ok: 300, peakInFlight: 16 });
    expect(h.sim.peakInFlight).toBeLessThanOrEqual(16);
    // The count it allowed, averaged over the sweep: 16 throughout.
    expect(summary.meanInFlight).toBe(16);
  });

  it('grows past its 16 when its calls need more in its time, and no further than they need', async () => {
    // 480 calls at 400 ms within a third of the 30-second budget: 48 a second, about 19 in flight
    // by Little's law, 24 with the headroom; the ceiling of 64 is not needed.
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '64' });
    h.sim.latencyMs = 400;
    await liveCalls(480);
    const summary = await h.sweep();
    expect(summary).toMatchObject({ sent: 480, ok: 480, skippedForBudget: 0 });
    expect(summary.peakInFlight).toBeGreaterThan(16);
    expect(h.sim.peakInFlight).toBeGreaterThan(16);
    expect(h.sim.peakInFlight).toBeLessThan(64);
  });

  it('goes as fast as Graph allows when the calls cannot be counted, and says so', async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '48', SWEEP_FANOUT: 'off' });
    h.sim.latencyMs = 40;
    await liveCalls(300);
    const store = h.runtime.store;
    let countCalledOffBy: AbortSignal | undefined;
    h.runtime.store = Object.assign(Object.create(store) as typeof store, {
      countActive: (signal?: AbortSignal) => {
        countCalledOffBy = signal;
        return Promise.reject(new Error('Table service unavailable'));
      },
    });
    const summary = await h.sweep();
    // A count that takes too long is called off, its reads with it, not left paging beside the sweep.
    expect(countCalledOffBy).toBeInstanceOf(AbortSignal);
    expect(summary).toMatchObject({ sent: 300, ok: 300 });
    expect(summary.peakInFlight).toBeGreaterThan(16);
    expect(h.logs).toContainEqual({
      level: 'warning',
      message:
        'keepAlive sweep: the calls could not be counted (Table service unavailable); the sweep goes as fast as Graph allows instead of pacing itself to its budget',
    });
  });
});
