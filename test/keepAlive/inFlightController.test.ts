import { describe, expect, it } from 'vitest';
import { InFlightController } from '../../shared/keepAlive/inFlightController.js';
import { inFlightNeeded } from '../../shared/keepAlive/sweepPace.js';

const controller = (initial = 16, ceiling = 256, floor = 16) => new InFlightController({ initial, ceiling, floor });

/** `count` answers of `latencyMs`, each sent now. */
const answers = (c: InFlightController, count: number, latencyMs: number) => {
  for (let i = 0; i < count; i++) c.onAnswer(c.onSend(), latencyMs);
};

describe('InFlightController', () => {
  it('doubles every round trip while Graph answers promptly, up to the ceiling', () => {
    const c = controller();
    answers(c, 16, 500);
    expect(c.current).toBe(32);
    answers(c, 32, 500);
    expect(c.current).toBe(64);
    answers(c, 10_000, 500);
    expect(c.current).toBe(256);
  });

  it('halves once for one burst of 429s: a signal from a request sent before the decrease is the same event', () => {
    const c = controller(16, 256, 4);
    answers(c, 48, 50);
    expect(c.current).toBe(64);
    const burst = Array.from({ length: 64 }, () => c.onSend());
    for (const seq of burst) c.onThrottle(seq);
    expect(c.current).toBe(32);
    c.onThrottle(c.onSend());
    expect(c.current).toBe(16);
  });

  it('grows by one per round trip after a decrease', () => {
    const c = controller();
    answers(c, 48, 50);
    c.onThrottle(c.onSend());
    expect(c.current).toBe(32);
    answers(c, 31, 50);
    expect(c.current).toBe(32);
    answers(c, 1, 50);
    expect(c.current).toBe(33);
  });

  it('judges latency a round trip at a time: one slow answer is no congestion, a slow round trip is', () => {
    const c = controller(16, 256, 16);
    answers(c, 16, 100);
    expect(c.current).toBe(32);
    // One slow answer in a prompt round trip: still growing.
    c.onAnswer(c.onSend(), 900);
    answers(c, 31, 100);
    expect(c.current).toBe(64);
    // A whole round trip twice as slow as the first: a tenth less, and the slow start is over.
    answers(c, 64, 200);
    expect(c.current).toBe(115);
    answers(c, 115, 200);
    expect(c.current).toBe(103);
  });

  it('never goes below its floor (the old fixed count) nor above its ceiling', () => {
    const c = controller(16, 64, 16);
    for (let i = 0; i < 10; i++) c.onThrottle(c.onSend());
    expect(c.current).toBe(16);
    expect(controller(16, 4, 16).current).toBe(4);
  });
});

describe("InFlightController's demand (the sweep's pace)", () => {
  it('holds the count at what the demand asks, never below the floor; a demand that lifts is met by the slow start', () => {
    const c = controller(16, 128, 16);
    answers(c, 16, 50);
    expect(c.current).toBe(32);
    c.setDemand(20);
    expect(c.current).toBe(20);
    answers(c, 200, 50);
    expect(c.current).toBe(20);
    c.setDemand(3);
    expect(c.current).toBe(16);
    // It grew no further while held: what it had before the demand, then a doubling a round trip.
    c.setDemand(undefined);
    expect(c.current).toBe(32);
    answers(c, 32, 50);
    expect(c.current).toBe(64);
  });

  it("takes a slow round trip while the demand holds the count for Graph's latency: nothing shrinks", () => {
    const held = controller(16, 128, 16);
    held.setDemand(16);
    answers(held, 16, 50);
    answers(held, 16, 500);
    answers(held, 16, 500);
    held.setDemand(undefined);
    // Still in its slow start, judged against 500 ms now: one more per answer.
    expect(held.current).toBe(17);
    answers(held, 17, 500);
    expect(held.current).toBe(34);
    // Queueing past that still shrinks it.
    answers(held, 34, 800);
    expect(held.current).toBe(61);

    // Unpaced, the same slow round trip is queueing: a tenth less, and the slow start is over.
    const unpaced = controller(16, 128, 16);
    answers(unpaced, 16, 50);
    answers(unpaced, 32, 500);
    expect(unpaced.current).toBe(57);
  });

  it('halves what was in flight on a 429, not what the demand held back', () => {
    const c = controller(16, 128, 16);
    c.setDemand(40);
    answers(c, 100, 50);
    expect(c.current).toBe(40);
    c.onThrottle(c.onSend());
    c.setDemand(undefined);
    expect(c.current).toBe(20);
  });

  it("gives the latest round trip's median as Graph's round trip, once the first (the token, new connections) is behind", () => {
    const c = controller(4, 128, 4);
    c.setDemand(4);
    answers(c, 4, 400);
    expect(c.roundTripMs).toBeUndefined();
    for (const ms of [60, 50, 300, 40]) c.onAnswer(c.onSend(), ms);
    expect(c.roundTripMs).toBe(60);
    answers(c, 4, 45);
    expect(c.roundTripMs).toBe(45);
  });
});

/**
 * A sweep of `due` calls against a Graph whose latency `latency(seq)` returns, with the first
 * `throttled` requests answered 429 (then retried once); how many keepAlives succeed in `budgetMs`.
 * Discrete events, no timers: the same arithmetic the sweep feeds the controller.
 */
function simulateSweep(options: {
  due: number;
  latency: (seq: number) => number;
  throttled?: number;
  size: () => number;
  onSend: () => number;
  onAnswer: (seq: number, latencyMs: number) => void;
  onThrottle: (seq: number) => void;
  budgetMs?: number;
  /** Called after each answer with the simulated time and how many calls are still to be sent. */
  onProgress?: (now: number, waiting: number) => void;
}): number {
  const budget = options.budgetMs ?? 180_000;
  let now = 0;
  let sent = 0;
  let ok = 0;
  const inFlight: { at: number; seq: number; retry: boolean; started: number }[] = [];
  for (;;) {
    options.onProgress?.(now, options.due - sent);
    while (inFlight.length < options.size() && sent < options.due) {
      const seq = options.onSend();
      sent++;
      inFlight.push({ at: now + options.latency(seq), seq, retry: false, started: now });
    }
    if (inFlight.length === 0) break;
    inFlight.sort((a, b) => a.at - b.at);
    const next = inFlight.shift()!;
    now = next.at;
    if (now > budget) break;
    if (!next.retry && next.seq < (options.throttled ?? 0)) {
      options.onThrottle(next.seq);
      inFlight.push({ ...next, at: now + options.latency(next.seq), retry: true });
      continue;
    }
    ok++;
    if (!next.retry) options.onAnswer(next.seq, now - next.started);
  }
  return ok;
}

/** A repeatable spread around `median`: log-normal with the given sigma. */
function spread(median: number, sigma: number): (seq: number) => number {
  let state = 12345;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
  return () => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

describe('a simulated sweep: sizing never keeps fewer calls alive than the old fixed 16', () => {
  const fixed16 = (due: number, latency: (seq: number) => number, throttled = 0) => {
    let seq = 0;
    return simulateSweep({ due, latency, throttled, size: () => 16, onSend: () => seq++, onAnswer: () => {}, onThrottle: () => {} });
  };
  const sized = (due: number, latency: (seq: number) => number, throttled = 0) => {
    const c = controller(16, 128, 16);
    return simulateSweep({
      due,
      latency,
      throttled,
      size: () => c.current,
      onSend: () => c.onSend(),
      onAnswer: (seq, ms) => c.onAnswer(seq, ms),
      onThrottle: (seq) => c.onThrottle(seq),
    });
  };

  it.each([
    ['500 ms, steady', () => 500, 0, 30_000],
    ['500 ms with a spread (sigma 0.25)', spread(500, 0.25), 0, 30_000],
    ['500 ms with a spread (sigma 0.1)', spread(500, 0.1), 0, 30_000],
    ['500 ms, a burst of 429s at the start', spread(500, 0.1), 64, 30_000],
    ['50 ms with a spread', spread(50, 0.25), 0, 100_000],
  ])('%s', (_, latency, throttled, due) => {
    const before = fixed16(due, latency, throttled);
    const now = sized(due, latency, throttled);
    expect(now).toBeGreaterThanOrEqual(before);
  });

  it('keeps 30,000 due calls alive at 500 ms with a spread inside the 3-minute budget', () => {
    expect(sized(30_000, spread(500, 0.25))).toBe(30_000);
  });

  /** The timer's paced sweep: every call counted and read at the start, done by a third of the budget. */
  const paced = (due: number, latency: (seq: number) => number, throttled = 0) => {
    const c = controller(16, 128, 16);
    let peak = c.current;
    let doneAt = 0;
    const ok = simulateSweep({
      due,
      latency,
      throttled,
      size: () => c.current,
      onSend: () => c.onSend(),
      onAnswer: (seq, ms) => c.onAnswer(seq, ms),
      onThrottle: (seq) => c.onThrottle(seq),
      onProgress: (now, waiting) => {
        c.setDemand(inFlightNeeded({ calls: due, doneBy: 60_000 }, { read: due, waiting, now, roundTripMs: c.roundTripMs }));
        peak = Math.max(peak, c.current);
        doneAt = now;
      },
    });
    return { ok, peak, doneAt };
  };

  it('paced, still keeps 30,000 due calls alive at 500 ms with a spread: more than 128 could do in its time, so 128', () => {
    const { ok, peak } = paced(30_000, spread(500, 0.25));
    expect(ok).toBe(30_000);
    expect(peak).toBe(128);
  });

  // It aims at a third of the budget and gets there about then (the headroom makes up for its
  // ramp-up); the rest is the margin for a Graph that slows down on the way.
  it('paced, keeps 20,000 due calls alive at 50 ms with about its 16 in flight, by about a third of the budget', () => {
    const { ok, peak, doneAt } = paced(20_000, spread(50, 0.25));
    expect(ok).toBe(20_000);
    expect(peak).toBeLessThan(32);
    expect(doneAt).toBeLessThan(70_000);
  });

  it('paced, at 200 ms keeps 20,000 alive by about a third of the budget with fewer in flight than the ceiling', () => {
    const { ok, peak, doneAt } = paced(20_000, spread(200, 0.25));
    expect(ok).toBe(20_000);
    expect(peak).toBeGreaterThan(16);
    expect(peak).toBeLessThan(128);
    expect(doneAt).toBeLessThan(70_000);
  });

  it('paced, keeps 20,000 alive when Graph slows from 50 to 500 ms halfway through its work', () => {
    const slowdown = (seq: number) => (seq < 10_000 ? 50 : 500);
    const { ok, peak, doneAt } = paced(20_000, slowdown);
    expect(ok).toBe(20_000);
    expect(peak).toBe(128);
    expect(doneAt).toBeLessThan(180_000);
  });

  it('paced, keeps as many alive as the fixed 16 through a burst of 429s at the start', () => {
    const { ok } = paced(20_000, spread(200, 0.1), 64);
    expect(ok).toBeGreaterThanOrEqual(fixed16(20_000, spread(200, 0.1), 64));
    expect(ok).toBe(20_000);
  });
});
