import { nextCallState, type CallState } from '../calls/callState.js';
import type { CallChange, CallDetails, CallStore, StoredCall } from '../calls/callStore.js';
import { describeTermination } from '../calls/termination.js';
import { rosterChange } from '../calls/roster.js';
import type { AnswerRequest, GraphCalls, GraphOutcome } from '../graph/graphCalls.js';
import type { Logger } from '../logger.js';
import { logSafe } from '../logSafe.js';
import type { Runtime } from '../runtime.js';
import { rejoinMeeting, type RejoinSettings } from '../meetings/rejoin.js';
import { logEvent } from '../telemetry.js';
import { decideIncomingCall, type IncomingCallPolicy } from './incomingCallPolicy.js';
import { parseNotification, type CommsNotifications, type ResultInfo } from './notificationSchema.js';
import { answerParticipantJoining, type JoinOutcome, type ParticipantJoiningResponse } from './participantJoining.js';
import { planNotification, type NotificationPlan, type PlanResult } from './planNotification.js';

export interface NotificationDeps {
  store: CallStore;
  graph: GraphCalls;
  callbackUrl: string;
  clock: () => Date;
  log: Logger;
  /** Tells the bot apart from the other participants of a roster. */
  botAppId: string;
  policy: IncomingCallPolicy;
  activeCalls: { count(onStaleCount?: (error: unknown) => void): Promise<number>; noteAnswered(): void };
  rejoin: RejoinSettings;
}

/** The notification handler's parts, from the process runtime. */
export function notificationDeps(runtime: Runtime, log: Logger): NotificationDeps {
  const { store, graph, clock, config, activeCalls, sleep } = runtime;
  return {
    store,
    graph,
    clock,
    log,
    callbackUrl: config.bot.callbackUrl,
    botAppId: config.bot.appId,
    policy: config.incomingCalls,
    activeCalls,
    rejoin: { attempts: config.meetings.rejoinAttempts, backoffSeconds: config.meetings.rejoinBackoffSeconds, sleep },
  };
}

export type NotificationOutcome =
  | 'answered'
  | 'duplicate'
  | 'answerFailed'
  | 'rejected'
  | 'roster'
  | 'updated'
  | 'stale'
  | 'unknownCall'
  | 'ended'
  | 'ignored'
  | JoinOutcome
  /** The entry is not a notification the bot understands; logged and skipped. */
  | 'invalid'
  /** Carrying the entry out threw. */
  | 'failed'
  /** Left for the redelivery: an earlier entry of the same call failed, and order matters. */
  | 'deferred';

export interface BatchResult {
  /** One per entry, in delivery order. */
  outcomes: NotificationOutcome[];
  /** An entry failed for a reason that may pass (e.g. storage unreachable): Graph should deliver the batch again. */
  redeliver: boolean;
  /** The bot's answer to the batch's participantJoiningNotification, for the response body. */
  joinResponse: ParticipantJoiningResponse | undefined;
}

/**
 * Handles one `commsNotifications` delivery entry by entry, in order. An entry that is not a
 * notification the bot understands is logged and skipped: refusing the batch would make Graph
 * drop the valid entries with it (a 4xx is never redelivered). An entry whose handling throws does
 * not stop the others, but asks for a redelivery; handling is idempotent (an answer is guarded by
 * the row insert, updates run under the row's ETag, removal of a removed row is a no-op), so the
 * entries that did succeed are harmless the second time. Later entries of a call whose entry
 * failed wait for that redelivery, so one call's notifications are never applied out of order.
 * `tenantId` is the authenticated sender's tenant, used when the call data names none.
 */
export async function handleNotificationBatch(
  batch: CommsNotifications,
  tenantId: string,
  deps: NotificationDeps,
): Promise<BatchResult> {
  const { log } = deps;
  const outcomes: NotificationOutcome[] = [];
  const failedCalls = new Set<string>();
  let redeliver = false;
  let joinResponse: ParticipantJoiningResponse | undefined;
  for (const [index, entry] of batch.value.entries()) {
    const planned = planEntry(entry);
    if (!planned.ok) {
      log.warn(`Notification value[${index}] skipped: ${planned.reason}`);
      outcomes.push('invalid');
      continue;
    }
    const { plan, dropped } = planned;
    for (const field of dropped) log.warn(`Call ${plan.callId}: ${field} is not stored`);
    if (failedCalls.has(plan.callId)) {
      log.warn(`Call ${plan.callId}: value[${index}] waits for the redelivery, after an earlier notification of this call failed`);
      outcomes.push('deferred');
      continue;
    }
    try {
      if (plan.kind !== 'participantJoining') {
        outcomes.push(await carryOut(plan, tenantId, deps));
      } else if (joinResponse !== undefined) {
        // One response body answers one participantJoiningNotification; Graph sends them one at a time.
        log.warn(`Call ${plan.callId}: value[${index}] is a second participantJoiningNotification in one delivery; ignored`);
        outcomes.push('ignored');
      } else {
        const joined = await answerParticipantJoining(plan.callId, plan.tenantId ?? tenantId, deps);
        joinResponse = joined.response;
        outcomes.push(joined.outcome);
      }
    } catch (error) {
      outcomes.push('failed');
      if (storageRefusedData(error)) {
        log.error(`Call ${plan.callId}: value[${index}] cannot be stored, not retried: ${logSafe(String(error), 500)}`);
        continue;
      }
      redeliver = true;
      failedCalls.add(plan.callId);
      log.error(`Call ${plan.callId}: value[${index}] failed; asking Graph to deliver again: ${logSafe(String(error), 500)}`);
    }
  }
  return { outcomes, redeliver, joinResponse };
}

function planEntry(entry: unknown): PlanResult {
  const parsed = parseNotification(entry);
  return parsed.ok ? planNotification(parsed.notification) : parsed;
}

// Table Storage answers 400 (e.g. PropertyValueTooLarge) or 413 (an entity over 1 MiB) to data it
// can never store: a redelivery of the same notification would fail the same way, forever. (The
// storage SDK's errors are RestErrors; Graph failures never get here, GraphCalls returns them.)
function storageRefusedData(error: unknown): boolean {
  const { name, statusCode } = (error ?? {}) as { name?: unknown; statusCode?: unknown };
  return name === 'RestError' && (statusCode === 400 || statusCode === 413);
}

function carryOut(
  plan: Exclude<NotificationPlan, { kind: 'participantJoining' }>,
  tenantId: string,
  deps: NotificationDeps,
): Promise<NotificationOutcome> {
  switch (plan.kind) {
    case 'answer':
      return answerIncomingCall(
        plan.callId,
        { ...plan.details, tenantId: plan.details.tenantId ?? tenantId },
        plan.policyRecording,
        deps,
      );
    case 'roster':
      return updateRoster(plan.callId, plan.participants, deps);
    case 'updateState':
      return updateCallState(plan.callId, plan.state, plan.details, deps);
    case 'end':
      return endCall(plan.callId, plan.resultInfo, deps);
    case 'ignore':
      deps.log.debug(`Call ${plan.callId}: ${plan.reason}`);
      return Promise.resolve('ignored');
  }
}

export function answerRequest(callbackUrl: string, participantCapacity?: number): AnswerRequest {
  return {
    callbackUri: callbackUrl,
    acceptedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    ...(participantCapacity === undefined ? {} : { participantCapacity }),
  };
}

/**
 * Applies the incoming-call policy, then stores the call and answers it at once: Graph gives the
 * bot 15 s, 5 s for policy-based recording (answer seed). The row is written first, and only the
 * writer that created it answers, so a duplicate delivery (or a second instance receiving it)
 * never answers twice. A rejected call gets no row.
 */
export async function answerIncomingCall(
  callId: string,
  details: CallDetails,
  policyRecording: boolean,
  { store, graph, callbackUrl, clock, log, policy, activeCalls }: NotificationDeps,
): Promise<NotificationOutcome> {
  const decision = decideIncomingCall(
    {
      tenantId: details.tenantId,
      policyRecording,
      activeCalls:
        policy.maxActiveCalls > 0
          ? await activeCalls.count((error) =>
              log.warn(`Counting active calls failed; MAX_ACTIVE_CALLS is checked against the previous count: ${String(error)}`),
            )
          : undefined,
    },
    policy,
  );
  if (decision.kind === 'reject') {
    // A redelivery of a call this app already answered finds the cap reached by that very call.
    if (await store.get(callId)) {
      return duplicateIncoming(callId, log);
    }
    const rejected = await graph.reject(callId, decision.reason, decision.deadlineMs);
    if (rejected.ok) log.info(`Call ${callId}: rejected (${decision.reason}): ${decision.why}`);
    else {
      log.warn(
        `Call ${callId}: reject (${decision.reason}: ${decision.why}) failed ` +
          `(Graph ${rejected.status ?? 'no response'} ${rejected.code ?? ''}: ${rejected.message})`,
      );
    }
    return 'rejected';
  }
  const inserted = await store.insert({ callId, state: 'incoming', createdAt: clock(), keepAliveFailures: 0, ...details });
  if (inserted === 'exists') {
    return duplicateIncoming(callId, log);
  }
  let outcome: GraphOutcome;
  try {
    outcome = await graph.answer(callId, answerRequest(callbackUrl, decision.participantCapacity), decision.deadlineMs);
  } catch (error) {
    // Not a Graph answer (a fault of this app's own): untrack, so a redelivery answers afresh.
    await store.remove(callId);
    throw error;
  }
  if (outcome.ok) {
    activeCalls.noteAnswered();
    log.info(`Call ${callId}: answered${policyRecording ? ' (policy-based recording)' : ''}`);
    return 'answered';
  }
  const detail = `Graph ${outcome.status ?? 'no response'} ${outcome.code ?? ''}: ${outcome.message}`;
  if (outcome.status === undefined) {
    // No response in time: Graph may still have answered. Keep tracking the call so it is kept
    // alive if it lives; if it does not, its first keepAlive gets 404 and the row goes.
    log.error(`Call ${callId}: answer got no response (${detail}); still tracked in case Graph answered`);
    return 'answerFailed';
  }
  // Graph refused: the call was not answered, so there is nothing to keep alive. Removing the
  // row also lets a redelivery of the notification try again.
  await store.remove(callId);
  if (outcome.status === 404) log.warn(`Call ${callId}: ended before it could be answered (${detail})`);
  else log.error(`Call ${callId}: answer failed (${detail})`);
  return 'answerFailed';
}

function duplicateIncoming(callId: string, log: Logger): NotificationOutcome {
  log.info(`Call ${callId}: duplicate incoming notification; it is already being answered`);
  return 'duplicate';
}

export async function updateCallState(
  callId: string,
  reported: CallState,
  details: CallDetails,
  { store, clock, log }: NotificationDeps,
): Promise<NotificationOutcome> {
  const result = await store.update(callId, (current) => stateChange(current, reported, details, clock()));
  switch (result.outcome) {
    case 'missing':
      // Never create a row here: a late update after `terminated` would resurrect the call.
      log.warn(`Call ${callId}: "${reported}" notification for a call that is not tracked; ignored`);
      return 'unknownCall';
    case 'unchanged':
      log.info(`Call ${callId}: "${reported}" does not move the call from "${result.call.state}"; ignored`);
      return 'stale';
    case 'updated':
      if (result.call.state !== reported) {
        log.info(`Call ${callId}: kept "${result.call.state}" over the stale "${reported}"; its details were recorded`);
      } else {
        log.info(`Call ${callId}: now ${result.call.state}`);
      }
      return 'updated';
  }
}

/**
 * The change a state report makes to a stored call, or undefined when it changes nothing.
 * A stale state is not applied, but details it carries (e.g. chatInfo) are still kept.
 */
export function stateChange(
  current: StoredCall,
  reported: CallState,
  details: CallDetails,
  now: Date,
): CallChange | undefined {
  const state = nextCallState(current.state, reported) ?? current.state;
  const newDetails = Object.fromEntries(
    Object.entries(details).filter(
      ([key, value]) => value !== undefined && JSON.stringify(value) !== JSON.stringify(current[key as keyof CallDetails]),
    ),
  ) as CallDetails;
  const establishedAt = state === 'established' && current.establishedAt === undefined ? now : undefined;
  // A rejoined meeting that is established again earns a fresh set of rejoin attempts.
  const rejoinAttempts = state === 'established' && (current.rejoinAttempts ?? 0) > 0 ? 0 : undefined;
  if (
    state === current.state &&
    establishedAt === undefined &&
    rejoinAttempts === undefined &&
    Object.keys(newDetails).length === 0
  ) {
    return undefined;
  }
  return { ...newDetails, state, establishedAt, rejoinAttempts };
}

/** A roster notification: the participant count, and whether the bot is now alone (for LEAVE_WHEN_ALONE_MINUTES). */
export async function updateRoster(
  callId: string,
  participants: Record<string, unknown>[],
  { store, clock, log, botAppId }: NotificationDeps,
): Promise<NotificationOutcome> {
  const result = await store.update(callId, (current) => rosterChange(current, participants, botAppId, clock()));
  if (result.outcome === 'missing') {
    log.warn(`Call ${callId}: roster notification for a call that is not tracked; ignored`);
    return 'unknownCall';
  }
  if (result.outcome === 'updated') {
    log.info(
      `Call ${callId}: ${result.call.participantCount} participant(s)${result.call.alone ? ', the bot is alone' : ''}`,
    );
  }
  return 'roster';
}

/**
 * Deletes the row of an ended call and logs why it ended. A meeting the bot joined that ended
 * abnormally is rejoined; only the delivery that removed the row does so, so a redelivered
 * terminated notification never rejoins twice.
 */
export async function endCall(
  callId: string,
  resultInfo: ResultInfo | undefined,
  deps: NotificationDeps,
): Promise<NotificationOutcome> {
  const { store, log } = deps;
  const call = await store.get(callId);
  const removed = await store.remove(callId);
  const report = describeTermination(callId, resultInfo);
  log[report.level](removed === 'removed' ? report.message : `${report.message}; it was not tracked`);
  if (report.keepAliveTimeout) logEvent(log, 'error', 'callDroppedForMissingKeepAlive', { callId, resultInfo });
  if (call && removed === 'removed') await rejoinMeeting(call, resultInfo, deps.rejoin, deps);
  return 'ended';
}
