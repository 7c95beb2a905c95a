/**
 * How many keepAlives a sweep keeps in flight. A fixed number is wrong at every Graph latency but
 * one: at 50 ms, 16 in flight keep 320 calls a second alive; at 500 ms the same 16 keep 32, and a
 * 100,000-call table would take 52 minutes, past Graph's 45. So the sweep starts low and grows
 * while Graph answers promptly, and shrinks when Graph pushes back:
 *
 * - slow start: one more per answer (the count doubles every round trip) until the first sign of
 *   trouble, so it reaches its working size within a few round trips of the budget;
 * - then additive increase: one more per round trip (per `current` answers);
 * - multiplicative decrease: halved on a 429 (Graph throttling), and the slow start ends;
 * - a latency guard: answers taking more than half as long again as the quickest seen mean requests
 *   are queueing (at Graph, or in this process's own CPU), where more in flight only lengthens every
 *   round trip: it then shrinks by a tenth;
 * - a decrease at most once per round trip: the answers of one round trip all carry the same news
 *   (a burst of 429s, the handshakes of the connections the last growth opened), and shrinking for
 *   each of them would collapse the count for one event;
 * - never above `ceiling` (KEEPALIVE_MAX_IN_FLIGHT) nor below `floor`.
 *
 * Pure arithmetic, fed by the sweep; the sweep applies `current` to its limiter.
 */

// A round trip this many times the quickest seen means requests are queueing somewhere.
const CONGESTED = 1.5;

export class InFlightController {
  private size: number;
  private slowStart = true;
  private quickestMs: number | undefined;
  private answersThisRound = 0;
  /** Answers (and 429s) since the last decrease; a new decrease waits for a round trip's worth. */
  private sinceDecrease = Number.POSITIVE_INFINITY;
  private answers = 0;
  private totalLatencyMs = 0;

  constructor(private readonly bounds: { initial: number; ceiling: number; floor?: number }) {
    this.size = Math.min(bounds.initial, bounds.ceiling);
  }

  get current(): number {
    return this.size;
  }

  /** The mean round trip of the answers seen (429s and requests with no answer left out). */
  get meanLatencyMs(): number | undefined {
    return this.answers === 0 ? undefined : this.totalLatencyMs / this.answers;
  }

  /** A keepAlive got an answer (other than a 429) after `latencyMs`. */
  onAnswer(latencyMs: number): void {
    this.answers++;
    this.totalLatencyMs += latencyMs;
    this.sinceDecrease++;
    this.quickestMs = Math.min(this.quickestMs ?? latencyMs, latencyMs);
    // The floor of 10 ms keeps a loopback round trip of 1 ms from reading every jitter as congestion.
    if (latencyMs > CONGESTED * Math.max(this.quickestMs, 10)) {
      this.decrease(Math.floor(this.size * 0.9));
      return;
    }
    if (this.slowStart) {
      this.set(this.size + 1);
      return;
    }
    this.answersThisRound++;
    if (this.answersThisRound >= this.size) {
      this.answersThisRound = 0;
      this.set(this.size + 1);
    }
  }

  /** Graph answered 429: it is throttling this app. */
  onThrottle(): void {
    this.sinceDecrease++;
    this.decrease(Math.floor(this.size / 2));
  }

  private decrease(size: number): void {
    this.slowStart = false;
    this.answersThisRound = 0;
    if (this.sinceDecrease < this.size) return;
    this.sinceDecrease = 0;
    this.set(size);
  }

  private set(size: number): void {
    this.size = Math.max(this.bounds.floor ?? 1, Math.min(this.bounds.ceiling, size));
  }
}
