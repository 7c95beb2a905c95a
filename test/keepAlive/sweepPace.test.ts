import { describe, expect, it } from 'vitest';
import { inFlightNeeded } from '../../shared/keepAlive/sweepPace.js';

const pace = { calls: 20_000, doneBy: 90_000 };
const at = (now: number, figures: { read?: number; waiting?: number; roundTripMs?: number | undefined } = {}) => ({
  read: 0,
  waiting: 0,
  roundTripMs: 50,
  now,
  ...figures,
});

describe('inFlightNeeded', () => {
  it("is Little's law on the calls left and the time left, with a quarter more", () => {
    // 20,000 calls in 90 s at 50 ms: 222 a second, 11.1 in flight; 13.9 with the headroom.
    expect(inFlightNeeded(pace, at(0))).toBe(14);
    // At 500 ms: ten times as many.
    expect(inFlightNeeded(pace, at(0, { roundTripMs: 500 }))).toBe(139);
  });

  it('counts the rows not read yet and the due calls read but not sent', () => {
    // Half the table read, 1,000 of it waiting, half the time gone: 11,000 calls in 45 s.
    expect(inFlightNeeded(pace, at(45_000, { read: 10_000, waiting: 1_000 }))).toBe(Math.ceil(((11_000 * 50) / 45_000) * 1.25));
  });

  it('asks for more as the time runs short', () => {
    const early = inFlightNeeded(pace, at(0, { read: 10_000, waiting: 500 }))!;
    const late = inFlightNeeded(pace, at(80_000, { read: 10_000, waiting: 500 }))!;
    expect(late).toBeGreaterThan(early * 8);
  });

  it("holds the sweep at its starting count (0: no more than the floor) until Graph's round trip is known", () => {
    expect(inFlightNeeded(pace, at(0, { roundTripMs: undefined }))).toBe(0);
  });

  it('lets the sweep go as fast as Graph allows once its time is up, or once it read more rows than were counted', () => {
    expect(inFlightNeeded(pace, at(90_000, { roundTripMs: undefined }))).toBeUndefined();
    expect(inFlightNeeded(pace, at(90_000))).toBeUndefined();
    expect(inFlightNeeded(pace, at(100_000))).toBeUndefined();
    expect(inFlightNeeded(pace, at(10_000, { read: 20_001 }))).toBeUndefined();
    expect(inFlightNeeded(pace, at(10_000, { read: 20_000, waiting: 10 }))).toBe(1);
  });

  it('holds once every counted call is read and sent, even past its time: nothing is left to hurry', () => {
    expect(inFlightNeeded(pace, at(100_000, { read: 20_000, waiting: 0 }))).toBe(0);
  });
});
