import { afterEach, describe, expect, it } from 'vitest';
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

  it('backs off when Graph throttles: the slow start ends at the first 429, and growth is one per round trip', async () => {
    h = await startHarness({ KEEPALIVE_INTERVAL_MINUTES: '0', KEEPALIVE_MAX_IN_FLIGHT: '48' });
    h.sim.latencyMs = 40;
    await liveCalls(120);
    h.sim.failNext('keepAlive', { status: 429, retryAfterSeconds: 0, times: 60, code: 'TooManyRequests' });
    const summary = await h.sweep();
    // A call whose retries all met a 429 is kept alive by the next sweep.
    expect(summary.sent).toBe(120);
    expect(summary.ok + summary.failed).toBe(120);
    // Unthrottled, the same sweep doubles to the ceiling of 48 within a few round trips (above).
    expect(summary.peakInFlight).toBeLessThan(32);
    expect(h.sim.peakInFlight).toBeLessThan(32);
  });
});
