import { describe, expect, it } from 'vitest';
import { fanOutThreshold, latestLatencyMs } from '../../shared/keepAlive/fanOutThreshold.js';
import { InFlightController } from '../../shared/keepAlive/inFlightController.js';
import type { SweepSummary } from '../../shared/keepAlive/sweepKeepAlive.js';
import type { SweepRecord } from '../../shared/keepAlive/sweepStatus.js';

const answers = (c: InFlightController, count: number, latencyMs: number) => {
  for (let i = 0; i < count; i++) c.onAnswer(latencyMs);
};

describe('InFlightController', () => {
  it('doubles every round trip while Graph answers promptly, up to the ceiling', () => {
    const c = new InFlightController({ initial: 16, ceiling: 256 });
    answers(c, 16, 500);
    expect(c.current).toBe(32);
    answers(c, 32, 500);
    expect(c.current).toBe(64);
    answers(c, 10_000, 500);
    expect(c.current).toBe(256);
  });

  it('halves on a 429, then grows by one per round trip', () => {
    const c = new InFlightController({ initial: 16, ceiling: 256 });
    answers(c, 48, 50);
    expect(c.current).toBe(64);
    c.onThrottle();
    expect(c.current).toBe(32);
    answers(c, 31, 50);
    expect(c.current).toBe(32);
    answers(c, 1, 50);
    expect(c.current).toBe(33);
    c.onThrottle();
    expect(c.current).toBe(16);
  });

  it('decreases once per round trip: a burst of 429s (or slow answers) is one event', () => {
    const c = new InFlightController({ initial: 16, ceiling: 256 });
    answers(c, 48, 50);
    c.onThrottle();
    c.onThrottle();
    c.onThrottle();
    expect(c.current).toBe(32);
    answers(c, 29, 50);
    c.onThrottle();
    expect(c.current).toBe(16);
    answers(c, 16, 200);
    expect(c.current).toBe(14);
  });

  it('stops growing and shrinks while answers take more than half as long again as the quickest', () => {
    const c = new InFlightController({ initial: 100, ceiling: 256 });
    c.onAnswer(50);
    expect(c.current).toBe(101);
    c.onAnswer(76);
    expect(c.current).toBe(90);
    answers(c, 89, 70);
    expect(c.current).toBe(90);
    answers(c, 1, 70);
    expect(c.current).toBe(91);
  });

  it('reads no congestion into loopback jitter: a round trip under 15 ms is never too slow', () => {
    const c = new InFlightController({ initial: 8, ceiling: 64 });
    c.onAnswer(1);
    c.onAnswer(15);
    expect(c.current).toBe(10);
  });

  it('never goes below its floor nor above its ceiling, and starts at most at the ceiling', () => {
    const low = new InFlightController({ initial: 2, ceiling: 64, floor: 2 });
    low.onThrottle();
    expect(low.current).toBe(2);
    expect(new InFlightController({ initial: 16, ceiling: 4 }).current).toBe(4);
  });
});

describe('fanOutThreshold', () => {
  it('keeps SWEEP_FANOUT_THRESHOLD while one instance can keep that many calls alive', () => {
    // 180 s ÷ 0.5 s × 128 = 46,080 reachable; a third of 110,592 is due per sweep, with a fifth in hand.
    expect(fanOutThreshold(20_000, 128, 500)).toBe(20_000);
    expect(fanOutThreshold(20_000, 128, undefined)).toBe(20_000);
  });

  it('fans out sooner when Graph is slow or the ceiling low', () => {
    expect(fanOutThreshold(20_000, 16, 500)).toBe(13_824);
    expect(fanOutThreshold(20_000, 128, 5_000)).toBe(11_059);
  });

  it('reads the latency of the most recent sweep that measured one, timer or shard', () => {
    const record = (scope: string, minute: number, meanLatencyMs?: number): SweepRecord => ({
      scope,
      startedAt: new Date(Date.UTC(2026, 10, 24, 10, minute)),
      finishedAt: new Date(Date.UTC(2026, 10, 24, 10, minute, 30)),
      outcome: 'ok',
      ...(meanLatencyMs === undefined ? {} : { summary: { meanLatencyMs } as SweepSummary }),
    });
    expect(latestLatencyMs([record('timer', 5, 120), record('shard-01', 10, 480), record('timer', 15)])).toBe(480);
    expect(latestLatencyMs([record('timer', 15)])).toBeUndefined();
  });
});
