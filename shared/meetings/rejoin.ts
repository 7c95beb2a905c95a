import type { CallRecord } from '../calls/callStore.js';
import type { Logger } from '../logger.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';
import { joinMeeting, type JoinDeps } from './joinMeeting.js';
import type { RejoinAttempt, RejoinQueue } from './rejoinQueue.js';

export interface RejoinSettings {
  /** At most this many rejoins since the meeting was last established; 0 = never. */
  attempts: number;
  backoffSeconds: number;
}

export type RejoinDecision = { rejoin: true; firstAttempt: number } | { rejoin: false; reason: string };

/**
 * Whether an end is abnormal. Graph's resultInfo codes follow HTTP: 2xx ends are normal (200/5001-5014
 * the conversation ended, 200/7000 the bot hung up), 4xx/5xx are failures (408/8537 no keepAlive,
 * 410/301005 media lost, 5xx service faults). An end with no resultInfo cannot be told apart, and is
 * not rejoined: rejoining a meeting that ended on purpose would be worse than missing a rejoin.
 */
export function endedAbnormally(resultInfo: ResultInfo | undefined): boolean {
  return resultInfo?.code !== undefined && resultInfo.code >= 400;
}

export type EndedCall = Pick<CallRecord, 'callId' | 'joinInfo' | 'hangUpRequestedAt' | 'rejoinAttempts'>;

/** Whether to rejoin after `call` ended with `resultInfo`. Pure. */
export function rejoinDecision(call: EndedCall, resultInfo: ResultInfo | undefined, maxAttempts: number): RejoinDecision {
  if (!call.joinInfo) return { rejoin: false, reason: 'not a meeting the bot joined' };
  if (call.hangUpRequestedAt) return { rejoin: false, reason: 'the bot hung up' };
  if (!endedAbnormally(resultInfo)) return { rejoin: false, reason: 'a normal end' };
  const used = call.rejoinAttempts ?? 0;
  if (used >= maxAttempts) {
    return { rejoin: false, reason: maxAttempts === 0 ? 'rejoin is off' : `all ${maxAttempts} rejoin attempts are used` };
  }
  return { rejoin: true, firstAttempt: used + 1 };
}

/** The wait before rejoin attempt `attempt` (1-based): the base, doubled for each attempt after the first. */
export function rejoinDelayMs(attempt: number, backoffSeconds: number): number {
  return backoffSeconds * 1000 * 2 ** (attempt - 1);
}

export interface RejoinDeps {
  rejoin: RejoinSettings;
  rejoinQueue: RejoinQueue;
  log: Logger;
}

/**
 * Schedules the first rejoin of a meeting whose call ended abnormally (a queue message that becomes
 * visible after the backoff); returns whether one was scheduled. A failure to enqueue is thrown, so
 * the caller can keep what it needs to try again.
 */
export async function scheduleRejoin(call: EndedCall, resultInfo: ResultInfo | undefined, deps: RejoinDeps): Promise<boolean> {
  const decision = rejoinDecision(call, resultInfo, deps.rejoin.attempts);
  if (!decision.rejoin) {
    if (call.joinInfo) deps.log.info(`Call ${call.callId}: not rejoining its meeting (${decision.reason})`);
    return false;
  }
  const attempt = decision.firstAttempt;
  await deps.rejoinQueue.schedule(
    { kind: 'rejoin', callId: call.callId, joinInfo: call.joinInfo!, attempt },
    rejoinDelayMs(attempt, deps.rejoin.backoffSeconds) / 1000,
  );
  deps.log.warn(
    `Call ${call.callId}: ended abnormally (resultInfo ${resultInfo?.code}/${resultInfo?.subcode ?? '-'}); ` +
      `rejoin attempt ${attempt} of ${deps.rejoin.attempts} scheduled in ${rejoinDelayMs(attempt, deps.rejoin.backoffSeconds) / 1000} s`,
  );
  return true;
}

export type RejoinOutcome = 'rejoined' | 'pending' | 'retryScheduled' | 'gaveUp' | 'duplicate';

/**
 * One rejoin attempt, from its queue message. A refusal that may change (throttling) schedules the
 * next attempt with a doubled wait; a create whose outcome is unknown is not repeated at once: the
 * call it may have made is adopted when its notification arrives, and if none comes, the join's
 * settle message makes the next attempt (see `settlePendingJoin`). A second create meanwhile could
 * put the bot in the meeting twice.
 */
export async function runRejoinAttempt(message: RejoinAttempt, deps: JoinDeps & RejoinDeps): Promise<RejoinOutcome> {
  const { callId, joinInfo, attempt } = message;
  const max = deps.rejoin.attempts;
  const next = attempt < max ? { callId, joinInfo, attempt: attempt + 1 } : undefined;
  const joined = await joinMeeting(joinInfo, deps, { rejoinedFrom: callId, rejoinAttempts: attempt }, next);
  switch (joined.kind) {
    case 'duplicate':
      // A repeat of a message whose attempt Graph refused: the next attempt may not have been queued
      // (the repeat is why); queue it again, the next attempt's own join id keeps it from running twice.
      if (joined.refusedStatus === undefined) return 'duplicate';
      return afterRefusal(callId, attempt, joined.refusedStatus, 'Refused', next, deps);
    case 'joined':
      deps.log.warn(`Call ${callId}: rejoined its meeting as call ${joined.callId} (attempt ${attempt} of ${max})`);
      return 'rejoined';
    case 'pending':
      deps.log.error(
        `Call ${callId}: rejoin attempt ${attempt} of ${max} has an unknown outcome (join ${joined.joinId}); not repeated now: ` +
          'a call Graph did make is adopted when its first notification arrives, and if none comes the next attempt follows',
      );
      return 'pending';
    case 'failed':
      return afterRefusal(callId, attempt, joined.status, joined.code, next, deps);
  }
}

/** After Graph refused an attempt: the next one, unless the refusal will not change or none is left. */
async function afterRefusal(
  callId: string,
  attempt: number,
  status: number,
  code: string,
  next: RejoinAttempt | undefined,
  deps: JoinDeps & RejoinDeps,
): Promise<RejoinOutcome> {
  const max = deps.rejoin.attempts;
  // A 4xx other than a timeout or throttling will not change on retry (no permission, meeting gone).
  const final = status >= 400 && status < 500 && status !== 408 && status !== 429;
  if (!final && next) {
    await deps.rejoinQueue.schedule({ kind: 'rejoin', ...next }, rejoinDelayMs(next.attempt, deps.rejoin.backoffSeconds) / 1000);
    deps.log.warn(`Call ${callId}: rejoin attempt ${attempt} of ${max} failed (${status} ${code}); attempt ${next.attempt} scheduled`);
    return 'retryScheduled';
  }
  deps.log.error(`Call ${callId}: could not rejoin its meeting; gave up`);
  return 'gaveUp';
}
