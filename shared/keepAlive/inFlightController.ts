/**
 * How many keepAlives a sweep keeps in flight. A fixed number is right at one Graph latency only:
 * at 50 ms, 16 in flight keep 320 calls a second alive; at 500 ms the same 16 keep 32, and a
 * 100,000-call table would take 52 minutes, past Graph's 45. So the sweep grows while Graph answers
 * as quickly as it did at the start, and backs off when Graph pushes back:
 *
 * - slow start: one more per prompt answer (the count doubles every round trip) until the first
 *   sign of trouble;
 * - then one more per round trip;
 * - Graph's latency is judged a round trip at a time, by the median of that round trip's answers
 *   against the median of the first: one slow answer (a TLS handshake, Graph's ordinary spread)
 *   says nothing, a slow round trip says requests are queueing (at Graph, or in this instance's
 *   CPU), and the count shrinks by a tenth;
 * - a 429 (Graph throttling) halves it;
 * - a decrease applies to what was sent after it: a signal from a request sent before the last
 *   decrease is that same event again (one burst of 429s is one event, not one halving each);
 * - never below `floor`, the fixed count the sweep used before it sized itself, so it never sends
 *   fewer keepAlives than that; never above `ceiling` (KEEPALIVE_MAX_IN_FLIGHT);
 * - never above what the sweep's demand calls for (`setDemand`, see `sweepPace.ts`) while one is
 *   set: no more keepAlives in flight than finishing its calls in time takes. The count grows only
 *   while all of it is in use, so a demand that rises is met by the slow start, a round trip at a
 *   time, each judged as before, never by a jump to a count no round trip tried. While the demand
 *   holds the count, each round trip's median is the baseline (down as well as up): a slower one is
 *   Graph's own latency at a count the sweep chose, not queueing, so nothing shrinks, and the
 *   demand, which counts that latency, asks for more.
 *
 * Only answers that came at the first attempt count for latency (a retry's wait is not Graph's
 * latency). Pure arithmetic, fed by the sweep; the sweep applies `current` to its limiter.
 */

// A round trip whose median is this many times the first round trip's means requests are queueing.
const CONGESTED = 1.5;

export class InFlightController {
  /** What Graph's answers allow: the count without the demand. */
  private supply: number;
  private slowStart = true;
  private sent = 0;
  /** Requests numbered below this were sent before the last decrease. */
  private decreasedAt = 0;
  private baselineMs: number | undefined;
  private round: number[] = [];
  private roundSize = 0;
  private answers = 0;
  private totalLatencyMs = 0;
  private lastRoundMedianMs: number | undefined;
  private roundsCompleted = 0;
  private demand: number | undefined;

  private readonly floor: number;

  constructor(private readonly bounds: { initial: number; ceiling: number; floor: number }) {
    this.floor = Math.min(bounds.floor, bounds.ceiling);
    this.supply = this.bounded(bounds.initial);
  }

  get current(): number {
    return this.bounded(Math.min(this.supply, this.demand ?? Infinity));
  }

  /** How many first-attempt answers the mean latency is made of. */
  get latencySamples(): number {
    return this.answers;
  }

  /** The mean round trip of the first-attempt answers seen. */
  get meanLatencyMs(): number | undefined {
    return this.answers === 0 ? undefined : this.totalLatencyMs / this.answers;
  }

  /**
   * Graph's round trip: the median of the latest full round trip, once the first is behind. The
   * first round trip's answers waited for the Graph token and new connections, several times
   * Graph's own latency; a pace that went by them overshot (44 in flight where 16 sufficed).
   */
  get roundTripMs(): number | undefined {
    return this.roundsCompleted >= 2 ? this.lastRoundMedianMs : undefined;
  }

  /** The most keepAlives in flight the sweep needs now (undefined: no such limit, as many as Graph allows). */
  setDemand(inFlight: number | undefined): void {
    this.demand = inFlight;
  }

  /** A request is about to be sent: its number, to hand back with what it brings. */
  onSend(): number {
    return this.sent++;
  }

  /** Request `seq` was answered 200 at its first attempt, after `latencyMs`. */
  onAnswer(seq: number, latencyMs: number): void {
    this.answers++;
    this.totalLatencyMs += latencyMs;
    const counts = seq >= this.decreasedAt;
    // A round trip is as many answers as were in flight when it began (the count grows meanwhile).
    if (counts && this.round.length === 0) this.roundSize = this.current;
    // Growth only while every slot is in use: a count held below by the demand proves nothing more.
    const held = this.current < this.supply;
    if (this.slowStart && !held) this.supply = this.bounded(this.supply + 1);
    if (!counts) return;
    this.round.push(latencyMs);
    if (this.round.length < this.roundSize) return;
    const median = [...this.round].sort((a, b) => a - b)[Math.floor(this.round.length / 2)]!;
    this.round = [];
    this.lastRoundMedianMs = median;
    this.roundsCompleted++;
    // Held by the demand: this round trip is Graph's latency at a count the sweep chose.
    if (this.current < this.supply) {
      this.baselineMs = Math.max(median, 10);
      return;
    }
    // The first round trip's answers come over new connections (TLS handshakes), so it is often
    // the slowest: this then fires only when Graph slows well past its first answers. A baseline
    // of the quickest round trip instead saw the sweep's own CPU queueing, and the sweep that
    // backed off for it kept a fifth fewer calls alive a second (docs/performance.md): more in
    // flight bought throughput even as the round trips lengthened. The floor of 10 ms keeps
    // loopback jitter from reading as queueing.
    this.baselineMs ??= Math.max(median, 10);
    if (median > CONGESTED * this.baselineMs) this.decrease(Math.floor(this.current * 0.9));
    else if (!this.slowStart) this.supply = this.bounded(this.supply + 1);
  }

  /** Request `seq` got a 429: Graph is throttling this app. */
  onThrottle(seq: number): void {
    if (seq < this.decreasedAt) return;
    // Half of what was in flight, not of what the demand held back: Graph refused this many.
    this.decrease(Math.floor(this.current / 2));
  }

  private decrease(size: number): void {
    this.slowStart = false;
    this.round = [];
    this.decreasedAt = this.sent;
    this.supply = this.bounded(size);
  }

  private bounded(size: number): number {
    return Math.max(this.floor, Math.min(this.bounds.ceiling, size));
  }
}
