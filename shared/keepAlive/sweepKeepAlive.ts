import pLimit from 'p-limit';
import type { CallRows, CallStore, KeepAliveResult, StoredCall, UnreadableCall } from '../calls/callStore.js';
import { isCallId } from '../calls/callId.js';
import { hangUpFromSweep } from '../calls/hangUp.js';
import { recordEndedCall, type HistoryDeps } from '../history/recordEndedCall.js';
import { settleStalePrompt } from '../media/callMedia.js';
import { hangUpDue, promptStale } from '../media/hangUpRule.js';
import { leaveWhenAlone } from '../calls/leaveWhenAlone.js';
import type { GraphCalls } from '../graph/graphCalls.js';
import type { Logger } from '../logger.js';
import { recordSweep } from '../telemetry.js';
import { outcomeOf } from './sweepStatus.js';
import { KEEPALIVE_LIMIT_MINUTES, keepAliveBasis, keepAliveDue, pastKeepAliveLimit } from './keepAliveDue.js';
import { InFlightController } from './inFlightController.js';
import { MAX_SWEEP_BUDGET_MS, sweepDeadline } from './sweepBudget.js';
import { inFlightNeeded, type SweepPace } from './sweepPace.js';

export interface SweepDeps extends HistoryDeps {
  store: CallStore;
  graph: GraphCalls;
  clock: () => Date;
  log: Logger;
  intervalMinutes: number;
  maxInFlight: number;
  pageSize?: number;
  /** Sweep only this partition (one shard of a fanned-out sweep); all calls when absent. */
  partition?: string;
  /** LEAVE_WHEN_ALONE_MINUTES; 0 or absent = never leave. */
  leaveWhenAloneMinutes?: number;
  /** TONE_TIMEOUT_SECONDS: a call placed with `hangUpAfter: "tone"` is hung up when no key came this long; absent = never. */
  toneTimeoutSeconds?: number;
  /**
   * The sweep's time budget: once aborted, no further keepAlive is sent and those under way are cut
   * short (and any wait for a retry with them). A budget of `MAX_SWEEP_BUDGET_MS` from now when absent.
   */
  deadline?: AbortSignal;
  /**
   * How many calls the table held and when the sweep aims to be done: it then keeps no more in
   * flight than that takes (see `sweepPace.ts`). Absent: as many as Graph's answers allow.
   */
  pace?: SweepPace;
}

export interface SweepSummary {
  active: number;
  due: number;
  sent: number;
  ok: number;
  /** Graph answered 404: the call had ended, and its row was deleted. */
  ended: number;
  failed: number;
  /**
   * Rows this version cannot read (another version's state, a hand edit, bad JSON). Each is logged
   * with its problem; one whose key is a call id is still sent a keepAlive on every sweep.
   */
  unreadable: number;
  /** Due calls not sent because the sweep's time budget ran out; the next sweep takes them. */
  skippedForBudget: number;
  /** The most keepAlives the sweep allowed in flight at once, as it sized itself to Graph's latency and throttling. */
  peakInFlight: number;
  /** The in-flight count the sweep allowed, averaged over its duration (tenths). */
  meanInFlight?: number | undefined;
  /** Graph's mean keepAlive round trip in this sweep, in ms (unknown without an answer); the fan-out decision reads it. */
  meanLatencyMs?: number | undefined;
  /** How many answers (200 at the first attempt) `meanLatencyMs` is the mean of. */
  latencySamples?: number | undefined;
  /** The budget ran out before every row was read: the figures leave out the rows not read. */
  budgetExhausted: boolean;
  durationMs: number;
  /**
   * Age of the oldest last-successful keepAlive (or call start) left after the sweep, over the rows
   * it read (rows not read once the budget ran out, and unreadable rows whose dates cannot be read,
   * are not in it); Graph drops a call at 45.
   */
  oldestKeepAliveAgeMinutes: number | undefined;
}

/**
 * `failed` reasons: `graph`, Graph refused (counted against the call); `fault`, this app's own fault
 * (store, transport); `budget`, cut short by the sweep's time budget. Only `graph` is written to the row.
 */
type KeepAliveOutcome = { kind: 'ok'; at: Date } | { kind: 'ended' } | { kind: 'failed'; reason: 'graph' | 'fault' | 'budget' };

/** What a keepAlive needs to know of the row it is sent for. */
interface KeepAliveTarget {
  callId: string;
  /** Its last successful keepAlive, or its start; unknown for a row whose columns cannot be read. */
  basis: Date | undefined;
  /** keepAlives that failed in a row before this one, when the row is readable. */
  failuresBefore: number | undefined;
  /** Why the row cannot be read, when it cannot. */
  unreadable: string | undefined;
  /** A meeting the bot joined (and did not hang up): its end may call for a rejoin. */
  joined?: boolean;
}

// How long the row of a joined meeting whose keepAlive answered 404 waits for the terminated
// notification (with the resultInfo a rejoin decision needs) before it goes without a rejoin.
export const ENDED_ROW_GRACE_MINUTES = 10;
// Where a sweep's in-flight count starts before it has seen Graph's latency (see InFlightController).
export const INITIAL_IN_FLIGHT = 16;
const HISTORY_WRITES_IN_FLIGHT = 8;

/**
 * Posts a keepAlive to every active call that is due, at most `maxInFlight` at a time, reading
 * the table page by page. A 404 means the call is over
 * (https://learn.microsoft.com/en-us/graph/api/call-keepalive): the row goes. Any other failure
 * leaves the row for the next sweep and counts against the call, until 45 minutes without a
 * success have Graph asked whether the call still exists. The results of a page are written back
 * in batches, not a request per call. A row that cannot be read is logged and kept alive by its
 * call id. Once the time budget runs out nothing more is sent (a hang-up of an empty meeting waits
 * for the next sweep too) and no more rows are read.
 */
export async function sweepKeepAlive(deps: SweepDeps): Promise<SweepSummary> {
  const startedAt = performance.now();
  const now = deps.clock();
  const deadline = deps.deadline ?? sweepDeadline(MAX_SWEEP_BUDGET_MS);
  // Never below the fixed 16 the sweep used before it sized itself: sizing may only add keepAlives.
  const inFlight = new InFlightController({ initial: INITIAL_IN_FLIGHT, ceiling: deps.maxInFlight, floor: INITIAL_IN_FLIGHT });
  const summary: SweepSummary = {
    active: 0,
    due: 0,
    sent: 0,
    ok: 0,
    ended: 0,
    failed: 0,
    unreadable: 0,
    skippedForBudget: 0,
    peakInFlight: inFlight.current,
    budgetExhausted: false,
    durationMs: 0,
    oldestKeepAliveAgeMinutes: undefined,
  };
  const pace = (): void => {
    if (!deps.pace) return;
    const waiting = summary.due - summary.sent - summary.skippedForBudget;
    inFlight.setDemand(
      inFlightNeeded(deps.pace, { read: summary.active, waiting, now: performance.now(), roundTripMs: inFlight.roundTripMs }),
    );
  };
  pace();
  const limit = pLimit(inFlight.current);
  // The count allowed over time, for its mean (the bound a count that changes during the sweep had).
  let allowedSince = startedAt;
  let allowedArea = 0;
  const allow = (count: number): void => {
    const now = performance.now();
    allowedArea += limit.concurrency * (now - allowedSince);
    allowedSince = now;
    limit.concurrency = count;
    summary.peakInFlight = Math.max(summary.peakInFlight, count);
  };
  let oldestBasis: number | undefined;
  // Rows of calls found over (keepAlive 404), for the history: written after the keepAlives, so a
  // slow history table never holds a worker slot a live call's keepAlive is waiting for.
  const endedRows: StoredCall[] = [];
  const track = (basis: Date) => {
    oldestBasis = Math.min(oldestBasis ?? Infinity, basis.getTime());
  };

  const sweepPage = async ({ calls, unreadable }: CallRows): Promise<void> => {
    const results: KeepAliveResult[] = [];
    const work: Promise<void>[] = [];
    const sendNow = async (target: KeepAliveTarget, onOutcome: (outcome: KeepAliveOutcome) => void) => {
      summary.sent++;
      const outcome = await keepAliveCall(target, deadline, deps, inFlight);
      pace();
      allow(inFlight.current);
      summary[outcome.kind]++;
      onOutcome(outcome);
    };
    const send = (target: KeepAliveTarget, onOutcome: (outcome: KeepAliveOutcome) => void) => {
      summary.due++;
      work.push(
        limit(async () => {
          if (deadline.aborted) {
            summary.skippedForBudget++;
            if (target.basis) track(target.basis);
            return;
          }
          await sendNow(target, onOutcome);
        }),
      );
    };
    for (const call of calls) {
      if (call.state === 'terminated') {
        // Over at Graph already (see `endedAt`): never kept alive, only waited on for a while.
        if (call.endedAt && now.getTime() - call.endedAt.getTime() >= ENDED_ROW_GRACE_MINUTES * 60_000) {
          work.push(removeUnconfirmedEnd(call, deps, () => endedRows.push(call)));
        }
        continue;
      }
      const target = {
        callId: call.callId,
        basis: keepAliveBasis(call),
        failuresBefore: call.keepAliveFailures,
        unreadable: undefined,
        joined: call.joinInfo !== undefined && call.hangUpRequestedAt === undefined,
      };
      const onOutcome = (outcome: KeepAliveOutcome) => {
        if (outcome.kind === 'ok') {
          track(outcome.at);
          results.push({ call, outcome: 'ok', at: outcome.at });
        } else if (outcome.kind === 'failed') {
          track(keepAliveBasis(call));
          if (outcome.reason === 'graph') results.push({ call, outcome: 'failed' });
        } else if (!target.joined) {
          // A joined meeting's row stays, as `terminated`, for its terminated notification.
          endedRows.push(call);
        }
      };
      // A prompt with no outcome in sight is settled as failed; the next pass applies the call's hang-up rule.
      if (promptStale(call.prompt, now)) work.push(limit(() => settleStalePrompt(call, deps)));
      const hangUpWhy = leaveWhenAlone(call, now, deps.leaveWhenAloneMinutes ?? 0)
        ? `alone in the meeting for ${deps.leaveWhenAloneMinutes} minutes or more`
        : hangUpDue(call, now, deps.toneTimeoutSeconds ?? Number.POSITIVE_INFINITY);
      if (hangUpWhy !== undefined) {
        // Alone in a meeting long enough, or done waiting for a key: hang up rather than keep the
        // call alive. If the hang-up fails the call lives on, so it still gets its keepAlive when
        // due: a call is either kept alive or ended, never left to Graph's 45-minute drop.
        work.push(
          limit(async () => {
            if (deadline.aborted || (await hangUpFromSweep(call.callId, hangUpWhy, deps, deadline))) {
              track(keepAliveBasis(call));
              return;
            }
            if (!keepAliveDue(call, now, deps.intervalMinutes)) {
              track(keepAliveBasis(call));
              return;
            }
            summary.due++;
            await sendNow(target, onOutcome);
          }),
        );
        continue;
      }
      if (!keepAliveDue(call, now, deps.intervalMinutes)) {
        track(keepAliveBasis(call));
        continue;
      }
      send(target, onOutcome);
    }
    for (const row of unreadable) {
      summary.unreadable++;
      if (!keepUnreadableRowAlive(row, deps)) continue;
      // Nothing is written back to a row that cannot be read, so it is due on every sweep: a
      // keepAlive more often than every 15 minutes is harmless (it is idempotent), one missed is not.
      send({ callId: row.callId, basis: row.keepAliveBasis, failuresBefore: undefined, unreadable: row.problem }, (outcome) => {
        if (outcome.kind === 'ok') track(outcome.at);
        else if (outcome.kind === 'failed' && row.keepAliveBasis) track(row.keepAliveBasis);
      });
    }
    await Promise.all(work);
    await recordResults(results, deps);
  };

  // The next page is read while this one's keepAlives are under way, and this page's calls are
  // queued before waiting for the previous page, so the in-flight limit stays full across page
  // boundaries. At most two pages are held at a time, whatever the table's size.
  let previousPage: Promise<void> | undefined;
  for await (const page of deps.store.pages({ pageSize: deps.pageSize, partition: deps.partition })) {
    if (deadline.aborted) {
      // Reading on would only eat into the time the results and the sweep's record need.
      summary.budgetExhausted = true;
      break;
    }
    summary.active += page.calls.length + page.unreadable.length;
    const thisPage = sweepPage(page);
    if (previousPage) await previousPage;
    previousPage = thisPage;
  }
  await previousPage;
  await recordSweptEnds(endedRows, deps, deadline);
  if (summary.skippedForBudget > 0 || summary.budgetExhausted) {
    deps.log.warn(
      `keepAlive sweep${deps.partition ? ` ${deps.partition}` : ''}: its time budget ran out; ` +
        `${summary.skippedForBudget} due call(s) not sent${summary.budgetExhausted ? ', and the rows after them not read' : ''}; ` +
        'the next sweep takes them',
    );
  }

  allow(limit.concurrency);
  const elapsedMs = allowedSince - startedAt;
  summary.durationMs = Math.round(elapsedMs);
  if (elapsedMs > 0) summary.meanInFlight = Math.round((allowedArea / elapsedMs) * 10) / 10;
  const meanLatencyMs = inFlight.meanLatencyMs;
  if (meanLatencyMs !== undefined) {
    summary.meanLatencyMs = Math.round(meanLatencyMs);
    summary.latencySamples = inFlight.latencySamples;
  }
  if (oldestBasis !== undefined) {
    summary.oldestKeepAliveAgeMinutes = Math.round(((deps.clock().getTime() - oldestBasis) / 60_000) * 10) / 10;
  }
  return summary;
}

/**
 * Whether to keep an unreadable row's call alive. Its key is still the call id, and a keepAlive
 * needs nothing else; the call may be live at Graph, and dropping it silently is what the bot must
 * never do. Either way the row is logged with its problem, on every sweep, until someone fixes it.
 */
function keepUnreadableRowAlive(row: UnreadableCall, { log }: SweepDeps): boolean {
  if (!isCallId(row.callId)) {
    log.error(
      `keepAlive sweep: a row keyed "${row.callId}" cannot be read (${row.problem}) and its key is no call id; no keepAlive sent. Fix or remove the row`,
    );
    return false;
  }
  log.error(
    `Call ${row.callId}: its row cannot be read (${row.problem}); its keepAlive is sent by call id on every sweep ` +
      `and nothing is written to the row until it is fixed or the call ends`,
  );
  return true;
}

async function keepAliveCall(
  target: KeepAliveTarget,
  deadline: AbortSignal,
  deps: SweepDeps,
  inFlight: InFlightController,
): Promise<KeepAliveOutcome> {
  const { graph, clock, log } = deps;
  const { callId } = target;
  try {
    const seq = inFlight.onSend();
    const sentAt = performance.now();
    let retried = false;
    const result = await graph.keepAlive(callId, deadline, (status) => {
      retried = true;
      if (status === 429) inFlight.onThrottle(seq);
    });
    // A request that waited out a Retry-After or a back-off says nothing of Graph's latency.
    if (result.ok && !retried) inFlight.onAnswer(seq, performance.now() - sentAt);
    if (result.ok) return { kind: 'ok', at: clock() };
    if (result.status === 404) {
      await removeEndedCall(target, 'keepAlive answered 404, the call has ended', deps);
      return { kind: 'ended' };
    }
    const failure = `Graph ${result.status ?? 'no response'} ${result.code ?? ''}: ${result.message}`;
    if (deadline.aborted) return cutShort(callId, failure, log);
    if (result.code === 'NotSent') {
      // This app's own fault (no Graph token): Graph never saw the request, so not counted against the call.
      log.error(`Call ${callId}: keepAlive not sent (${result.message}); the next sweep tries again`);
      return { kind: 'failed', reason: 'fault' };
    }
    if (target.basis && pastKeepAliveLimit(target.basis, clock())) return await confirmEnded(target, failure, deadline, deps);
    const inARow = target.failuresBefore === undefined ? '' : `${target.failuresBefore + 1} in a row, `;
    log.warn(`Call ${callId}: keepAlive failed (${failure}); ${inARow}will retry next sweep`);
    return { kind: 'failed', reason: 'graph' };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (deadline.aborted) return cutShort(callId, message, log);
    // A store or transport fault on one call must not stop the sweep for the others.
    log.error(`Call ${callId}: keepAlive failed: ${message}`);
    return { kind: 'failed', reason: 'fault' };
  }
}

/** A keepAlive the budget cut short says nothing about the call: not counted against it. */
function cutShort(callId: string, failure: string, log: Logger): KeepAliveOutcome {
  log.warn(`Call ${callId}: keepAlive cut short by the sweep's time budget (${failure}); the next sweep sends it`);
  return { kind: 'failed', reason: 'budget' };
}

/**
 * A call whose keepAlives have failed (other than with 404, e.g. 403 once consent is revoked) for
 * 45 minutes is over by Graph's own rule. Its row would otherwise be retried forever and keep the
 * health check red, so Graph is asked (https://learn.microsoft.com/en-us/graph/api/call-get): 404
 * confirms the end and the row goes; if Graph still knows the call, or cannot say, the row stays.
 */
async function confirmEnded(target: KeepAliveTarget, failure: string, deadline: AbortSignal, deps: SweepDeps): Promise<KeepAliveOutcome> {
  const { callId } = target;
  const minutes = Math.floor((deps.clock().getTime() - target.basis!.getTime()) / 60_000);
  const silence = `no keepAlive has succeeded for ${minutes} minutes (the latest: ${failure})`;
  const found = await deps.graph.get(callId, deadline);
  if (!found.ok && found.status === 404) {
    await removeEndedCall(target, `${silence}, and Graph no longer knows the call (GET 404): it is over`, deps);
    return { kind: 'ended' };
  }
  if (found.ok) {
    deps.log.error(
      `Call ${callId}: ${silence}, yet Graph still has the call (GET 200) past its ${KEEPALIVE_LIMIT_MINUTES}-minute limit; ` +
        'row kept, keepAlive retried next sweep',
    );
  } else {
    deps.log.warn(
      `Call ${callId}: ${silence}; asking Graph whether the call is over failed ` +
        `(GET: Graph ${found.status ?? 'no response'} ${found.code ?? ''}: ${found.message}); row kept, asked again next sweep`,
    );
  }
  return { kind: 'failed', reason: 'graph' };
}

async function removeEndedCall(target: KeepAliveTarget, why: string, deps: SweepDeps): Promise<void> {
  const { store, log, clock } = deps;
  if (target.joined) {
    // The terminated notification (with its resultInfo) may still be on its way: removing the row
    // now would lose the join information, and with it the rejoin an abnormal end calls for.
    const at = clock();
    const marked = await store.update(target.callId, (current) =>
      current.state === 'terminated' ? undefined : { state: 'terminated', endedAt: at },
    );
    if (marked.outcome !== 'missing') {
      log.info(
        `Call ${target.callId}: ${why}; its row waits up to ${ENDED_ROW_GRACE_MINUTES} minutes for the terminated ` +
          'notification, which decides whether to rejoin the meeting',
      );
    }
    return;
  }
  await store.remove(target.callId);
  if (target.unreadable) log.warn(`Call ${target.callId}: ${why}; its unreadable row (${target.unreadable}) removed`);
  else log.info(`Call ${target.callId}: ${why}; removed`);
}

async function removeUnconfirmedEnd(call: StoredCall, { store, log }: SweepDeps, onRemoved: () => void): Promise<void> {
  try {
    if ((await store.remove(call.callId)) === 'removed') {
      onRemoved();
      log.warn(
        `Call ${call.callId}: ended (keepAlive 404) and no terminated notification came within ${ENDED_ROW_GRACE_MINUTES} minutes; ` +
          'removed without a rejoin (an end without resultInfo is not rejoined)',
      );
    }
  } catch (error) {
    log.error(
      `Call ${call.callId}: removing the ended row failed, the next sweep tries again: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** History records of the calls a sweep found over, after its keepAlives and within its budget. */
async function recordSweptEnds(rows: StoredCall[], deps: SweepDeps, deadline: AbortSignal): Promise<void> {
  if (rows.length === 0 || !deps.history) return;
  const limit = pLimit(HISTORY_WRITES_IN_FLIGHT);
  let skipped = 0;
  await Promise.all(
    rows.map((call) =>
      limit(async () => {
        if (deadline.aborted) skipped++;
        else await recordEndedCall(call, { resultInfo: undefined, endedBy: 'keepAlive404' }, deps);
      }),
    ),
  );
  if (skipped > 0) deps.log.warn(`keepAlive sweep: ${skipped} ended call(s) got no history record, the sweep's time budget ran out`);
}

async function recordResults(results: KeepAliveResult[], { store, log }: SweepDeps): Promise<void> {
  if (results.length === 0) return;
  try {
    const recorded = await store.recordKeepAliveResults(results);
    if (recorded.missing > 0) {
      log.info(`keepAlive bookkeeping: ${recorded.missing} call(s) ended while their keepAlive was under way; not recreated`);
    }
  } catch (error) {
    // The keepAlives reached Graph; only their bookkeeping is lost, so those calls are simply
    // due again on the next sweep.
    log.error(
      `keepAlive bookkeeping: could not record ${results.length} keepAlive result(s): ` +
        `${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Reports a sweep: the readable line (a warning when keepAlives failed) and the same figures as
 * metrics (see `recordSweep`), which sampling never drops.
 */
export function logSweepSummary(log: Logger, summary: SweepSummary, shard?: string): void {
  const level = summary.failed > 0 || summary.unreadable > 0 || summary.skippedForBudget > 0 || summary.budgetExhausted ? 'warn' : 'info';
  log[level](formatSweepSummary(summary, shard));
  recordSweep(summary, shard ?? 'timer', outcomeOf(summary));
}

/** The sweep's one summary line; `shard` names the partition of a fanned-out sweep. */
export function formatSweepSummary(s: SweepSummary, shard?: string): string {
  return (
    `keepAlive sweep${shard ? ` ${shard}` : ''}: active=${s.active} due=${s.due} sent=${s.sent} ok=${s.ok} ended=${s.ended} failed=${s.failed} unreadable=${s.unreadable} ` +
    `skippedForBudget=${s.skippedForBudget}${s.budgetExhausted ? ' budgetExhausted' : ''} peakInFlight=${s.peakInFlight} ` +
    `durationMs=${s.durationMs} oldestKeepAliveAgeMinutes=${s.oldestKeepAliveAgeMinutes ?? '-'}`
  );
}
