import { describe, expect, it } from 'vitest';
import { KEEPALIVE_SWEEP_SCHEDULE } from '../../functions/keepAliveSweep.js';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { keepAliveDue } from '../../shared/keepAlive/keepAliveDue.js';
import { KEEPALIVE_REQUEST_BUDGET_MS, worstKeepAliveGapMinutes } from '../../shared/keepAlive/keepAliveSchedule.js';
import { MAX_SWEEP_BUDGET_MS } from '../../shared/keepAlive/sweepBudget.js';

const MINUTE = 60_000;
const SECOND = 1_000;
const settings = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  BOT_APP_ID: '0b1e3f55-7d2a-4c8e-9f00-5a1c2d3e4f50',
  BOT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  BOT_CALLBACK_URL: 'https://bot.example.test/api/calls',
};

/** The largest KEEPALIVE_INTERVAL_MINUTES the configuration accepts. */
function largestAcceptedInterval(): number {
  let largest = -1;
  for (let minutes = 0; minutes <= 120; minutes++) {
    try {
      loadConfig({ ...settings, KEEPALIVE_INTERVAL_MINUTES: String(minutes) });
      largest = minutes;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
    }
  }
  return largest;
}

// The instants the timer fires between `from` and `to`, read from its NCRONTAB schedule
// (`{second} {minute} {hour} {day} {month} {day-of-week}`) as the host would. It reads the
// "every n minutes at second 0" form only and fails loudly on any other.
function timerFirings(schedule: string, from: number, to: number): number[] {
  const fields = schedule.split(' ');
  const step = /^\*\/(\d+)$/.exec(fields[1] ?? '')?.[1];
  if (fields.length !== 6 || fields[0] !== '0' || step === undefined || fields.slice(2).some((f) => f !== '*')) {
    throw new Error(`this test reads "0 */n * * * *" schedules only, not "${schedule}"`);
  }
  const firings: number[] = [];
  for (let minute = Math.ceil(from / MINUTE) * MINUTE; minute <= to; minute += MINUTE) {
    if (new Date(minute).getUTCMinutes() % Number(step) === 0) firings.push(minute);
  }
  return firings;
}

interface Scenario {
  /** When Graph started the call; its 45 minutes count from here until the first keepAlive. */
  callStart: number;
  /** How long after that the app stored the row (`createdAt`). */
  rowStoredAfterMs: number;
  /** How late the timer fires after its mark; the sweep reads its clock then. */
  timerLateMs: number;
  /**
   * For each keepAlive in turn (cycled): when it reaches Graph and when its reply arrives and
   * `lastKeepAliveAt` is stamped, both counted from the sweep's start.
   */
  timings: { reachesGraphMs: number; stampedMs: number }[];
  /** Which due keepAlive (0 = the first) fails without reaching Graph; none when undefined. */
  failing: number | undefined;
}

/** The longest time Graph goes without a keepAlive for the call, in minutes, over 4 hours of sweeps. */
function longestGapMinutes(intervalMinutes: number, s: Scenario): number {
  const call: { createdAt: Date; lastKeepAliveAt?: Date } = { createdAt: new Date(s.callStart + s.rowStoredAfterMs) };
  let lastSeenByGraph = s.callStart;
  let longest = 0;
  let attempt = 0;
  for (const mark of timerFirings(KEEPALIVE_SWEEP_SCHEDULE, s.callStart, s.callStart + 240 * MINUTE)) {
    const sweepStart = mark + s.timerLateMs;
    if (!keepAliveDue(call, new Date(sweepStart), intervalMinutes)) continue;
    const timing = s.timings[attempt % s.timings.length]!;
    if (attempt++ === s.failing) continue;
    const reachedGraph = sweepStart + timing.reachesGraphMs;
    longest = Math.max(longest, reachedGraph - lastSeenByGraph);
    lastSeenByGraph = reachedGraph;
    call.lastKeepAliveAt = new Date(sweepStart + timing.stampedMs);
  }
  expect(attempt, 'the call was never kept alive').toBeGreaterThan(3);
  return longest / MINUTE;
}

// Calls started at awkward offsets from the timer's marks; replies stamped a little or a full
// request budget after the sweep started; each of the first keepAlives failing in turn.
function scenarios(): Scenario[] {
  const hour = Date.UTC(2026, 0, 1, 10);
  const budget = KEEPALIVE_REQUEST_BUDGET_MS;
  const timingCycles = [
    [{ reachesGraphMs: 300, stampedMs: 2 * SECOND }],
    // A sweep that reaches the call only at the end of its budget, and whose reply is late too.
    [{ reachesGraphMs: MAX_SWEEP_BUDGET_MS, stampedMs: MAX_SWEEP_BUDGET_MS + budget }],
    // Reached Graph at once but answered late, then the next one reached Graph late.
    [
      { reachesGraphMs: 0, stampedMs: budget },
      { reachesGraphMs: budget, stampedMs: budget },
    ],
    [
      { reachesGraphMs: budget, stampedMs: budget },
      { reachesGraphMs: 0, stampedMs: budget },
    ],
  ];
  const all: Scenario[] = [];
  for (let offset = 0; offset <= 6 * MINUTE; offset += 7 * SECOND + 3) {
    for (const rowStoredAfterMs of [1 * SECOND, 15 * SECOND]) {
      for (const timerLateMs of [0, 2 * SECOND]) {
        for (const timings of timingCycles) {
          for (const failing of [undefined, 0, 1, 2, 3]) {
            all.push({ callStart: hour + offset, rowStoredAfterMs, timerLateMs, timings, failing });
          }
        }
      }
    }
  }
  return all;
}

describe('KEEPALIVE_INTERVAL_MINUTES bound, played on the real timer schedule', () => {
  const largest = largestAcceptedInterval();

  it('keeps every call inside Graph’s 45 minutes at the largest interval the configuration accepts', () => {
    const longest = Math.max(...scenarios().map((s) => longestGapMinutes(largest, s)));
    expect(longest).toBeLessThan(45);
    // The derivation in keepAliveSchedule.ts is a true bound of what the schedule does.
    expect(longest).toBeLessThanOrEqual(worstKeepAliveGapMinutes(largest));
  });

  it('refuses the next value up, naming the setting and why', () => {
    const env = { ...settings, KEEPALIVE_INTERVAL_MINUTES: String(largest + 1) };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(
      new RegExp(
        `KEEPALIVE_INTERVAL_MINUTES must be a whole number from 0 to ${largest}, got "${largest + 1}" \\(Graph ends a call that gets no keepAlive for 45 minutes`,
      ),
    );
  });

  it('can fail: at the old maximum of 44 a call just short of due with one failure went past 46 minutes', () => {
    // The gap the issue measured with the old maximum, so the simulation is known to be able to fail.
    const longest = Math.max(...scenarios().map((s) => longestGapMinutes(44, s)));
    expect(longest).toBeGreaterThan(46);
  });
});
