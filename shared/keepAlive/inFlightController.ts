/**
 * How many keepAlives a sweep keeps in flight. A fixed number is wrong at every Graph latency but
 * one: at 50 ms, 16 in flight keep 320 calls a second alive; at 500 ms the same 16 keep 32, and a
 * 100,000-call table would take 52 minutes, past Graph's 45. So the sweep starts low and grows
 * while Graph answers promptly, and shrinks when Graph pushes back:
 *
 * - slow start: one more per answer (the count doubles every round trip) until the first sign of
 *   trouble, so it reaches its working size within a few round trips of the budget;
 * - then additive increase: one more per round trip (per `current` answers);
 * - multiplicative decrease: halved on a 429 (Graph throttling) and the slow start ends;
 * - a latency guard: while answers take more than twice the quickest seen (requests queueing, at
 *   Graph or in this process's own CPU), it does not grow, and shrinks by a tenth, since more in
 *   flight would only lengthen every round trip;
 * - never above `ceiling` (KEEPALIVE_MAX_IN_FLIGHT) nor below `floor`.
 *
 * Pure arithmetic, fed by the sweep; the sweep applies `current` to its limiter.
 */
export class InFlightController {
  private size: number;
  private slowStart = true;
  private quickestMs: number | undefined;
  private answersThisRound = 0;

  constructor(private readonly bounds: { initial: number; ceiling: number; floor?: number }) {
    this.size = Math.min(bounds.initial, bounds.ceiling);
  }

  get current(): number {
    return this.size;
  }

  /** A keepAlive got an answer (other than a 429) after `latencyMs`. */
  onAnswer(latencyMs: number): void {
    this.quickestMs = Math.min(this.quickestMs ?? latencyMs, latencyMs);
    // The floor of 10 ms keeps a loopback round trip of 1 ms from reading every jitter as congestion.
    if (latencyMs > 2 * Math.max(this.quickestMs, 10)) {
      this.slowStart = false;
      this.answersThisRound = 0;
      this.set(Math.floor(this.size * 0.9));
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
    this.slowStart = false;
    this.answersThisRound = 0;
    this.set(Math.floor(this.size / 2));
  }

  private set(size: number): void {
    this.size = Math.max(this.bounds.floor ?? 1, Math.min(this.bounds.ceiling, size));
  }
}
