import { describe, expect, it } from 'vitest';
import { InFlightController } from '../../shared/keepAlive/inFlightController.js';

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
    c.onThrottle();
    c.onThrottle();
    expect(c.current).toBe(4);
  });

  it('stops growing and shrinks while answers take more than twice the quickest', () => {
    const c = new InFlightController({ initial: 100, ceiling: 256 });
    c.onAnswer(50);
    expect(c.current).toBe(101);
    c.onAnswer(150);
    expect(c.current).toBe(90);
    answers(c, 89, 60);
    expect(c.current).toBe(90);
    answers(c, 1, 60);
    expect(c.current).toBe(91);
  });

  it('reads no congestion into loopback jitter: under 10 ms is never twice too slow', () => {
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
