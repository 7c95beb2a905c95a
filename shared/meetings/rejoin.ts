import type { StoredCall } from '../calls/callStore.js';
import type { ResultInfo } from '../notifications/notificationSchema.js';
import { joinMeeting, type JoinDeps } from './joinMeeting.js';

export interface RejoinSettings {
  /** At most this many rejoins since the meeting was last established; 0 = never. */
  attempts: number;
  backoffSeconds: number;
  /** Injected so that tests need not wait. */
  sleep: (ms: number) => Promise<void>;
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

/** Whether to rejoin after `call` ended with `resultInfo`. Pure. */
export function rejoinDecision(call: StoredCall, resultInfo: ResultInfo | undefined, maxAttempts: number): RejoinDecision {
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

export type RejoinOutcome = 'rejoined' | 'notRejoined' | 'gaveUp';

/**
 * Rejoins the meeting of a call that ended abnormally, with backoff, up to the attempts left. The
 * new call gets a row of its own (the old one is already gone) that names the call it replaces.
 *
 * This runs inside the terminated notification's request: with the default backoff (2 s, 4 s, 8 s)
 * the worst case is well under a minute. A Graph redelivery meanwhile finds no row and does nothing.
 */
export async function rejoinMeeting(
  call: StoredCall,
  resultInfo: ResultInfo | undefined,
  settings: RejoinSettings,
  deps: JoinDeps,
): Promise<RejoinOutcome> {
  const decision = rejoinDecision(call, resultInfo, settings.attempts);
  if (!decision.rejoin) {
    if (call.joinInfo) deps.log.info(`Call ${call.callId}: not rejoining its meeting (${decision.reason})`);
    return 'notRejoined';
  }
  for (let attempt = decision.firstAttempt; attempt <= settings.attempts; attempt++) {
    await settings.sleep(rejoinDelayMs(attempt, settings.backoffSeconds));
    const joined = await joinMeeting(call.joinInfo!, deps, { rejoinedFrom: call.callId, rejoinAttempts: attempt });
    if (joined.ok) {
      deps.log.warn(
        `Call ${call.callId}: ended abnormally (resultInfo ${resultInfo?.code}/${resultInfo?.subcode ?? '-'}); ` +
          `rejoined its meeting as call ${joined.callId} (attempt ${attempt} of ${settings.attempts})`,
      );
      return 'rejoined';
    }
    // A 4xx other than a timeout or throttling will not change on retry (no permission, meeting gone).
    if (joined.status >= 400 && joined.status < 500 && joined.status !== 408 && joined.status !== 429) break;
  }
  deps.log.error(`Call ${call.callId}: could not rejoin its meeting; gave up`);
  return 'gaveUp';
}
