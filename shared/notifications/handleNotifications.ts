import { randomUUID } from 'node:crypto';
import { nextCallState, type CallState } from '../calls/callState.js';
import { UnreadableCallError, type CallChange, type CallDetails, type StoredCall } from '../calls/callStore.js';
import { describeTermination } from '../calls/termination.js';
import { rosterChange } from '../calls/roster.js';
import type { AnswerRequest } from '../graph/graphCalls.js';
import type { Logger } from '../logger.js';
import { logSafe } from '../logSafe.js';
import {
  adoptJoinedCall,
  endOfUntrackedJoin,
  hangUpUntrackedJoinCall,
  noteEndOfTrackedJoin,
  reopenEndOfTrackedJoin,
} from '../meetings/adoptJoinedCall.js';
import type { JoinDeps } from '../meetings/joinMeeting.js';
import { scheduleRejoin } from '../meetings/rejoin.js';
import { applyOperation, hangUpIfDue, pendingPrompt, startCallMedia } from '../media/callMedia.js';
import { toneChange } from '../media/tones.js';
import { recordEndedCall } from '../history/recordEndedCall.js';
import { recordCallDropped } from '../telemetry.js';
import { answerDeadlineMs, decideIncomingCall, type IncomingCallPolicy } from './incomingCallPolicy.js';
import { deadlineIn, untilAborted, type Deadline } from '../deadline.js';
import { parseNotification, type CommsNotifications, type ResultInfo } from './notificationSchema.js';
import { answerParticipantJoining, type ParticipantJoinOutcome, type ParticipantJoiningResponse } from './participantJoining.js';
import { planNotification, type NotificationPlan, type PlanResult } from './planNotification.js';

export interface NotificationDeps extends JoinDeps {
  /** Tells the bot apart from the other participants of a roster. */
  botAppId: string;
  policy: IncomingCallPolicy;
  activeCalls: { count(onStaleCount?: (error: unknown) => void): Promise<number>; noteAnswered(): void };
  /** When the notification arrived (`Date.now()` scale): answer deadlines count from here. */
  arrivedAt: number;
  /** WELCOME_PROMPT_URL: played once on every answered incoming call. */
  welcomePromptUrl: string | undefined;
}

export type NotificationOutcome =
  | 'answered'
  | 'duplicate'
  | 'answerFailed'
  /** The answer's outcome is unknown: the row is kept and the first keepAlive settles it. */
  | 'answerAmbiguous'
  /** The answer deadline passed before the answer could be sent. */
  | 'answerMissed'
  | 'rejected'
  | 'roster'
  | 'updated'
  | 'stale'
  | 'unknownCall'
  | 'ended'
  | 'ignored'
  /** An operation of the call (a prompt) moved on; recorded on the row. */
  | 'operation'
  | ParticipantJoinOutcome
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
 * Handles one `commsNotifications` delivery entry by entry. An entry that is not a notification the
 * bot understands is logged and skipped: refusing the batch would make Graph drop the valid entries
 * with it (a 4xx is never redelivered). An entry whose handling throws does not stop the others, but
 * asks for a redelivery; handling is idempotent (an answer is guarded by the row insert, updates run
 * under the row's ETag, removal of a removed row is a no-op), so the entries that did succeed are
 * harmless the second time. Later entries of a call whose entry failed wait for that redelivery, so
 * one call's notifications are never applied out of order.
 *
 * Entries of different calls run side by side: each incoming call has its own answer deadline
 * counted from the delivery's arrival, and must not wait behind the others (Graph's answer slots
 * in `GraphClientCalls` bound how many go out at once). Entries of one call run in delivery order.
 * `tenantId` is the authenticated sender's tenant, used when the call data names none.
 */
export async function handleNotificationBatch(batch: CommsNotifications, tenantId: string, deps: NotificationDeps): Promise<BatchResult> {
  const { log } = deps;
  const outcomes: NotificationOutcome[] = new Array<NotificationOutcome>(batch.value.length);
  const byCall = new Map<string, Array<{ index: number; planned: Extract<PlanResult, { ok: true }> }>>();
  let joinEntry: number | undefined;
  for (const [index, entry] of batch.value.entries()) {
    const planned = planEntry(entry);
    if (!planned.ok) {
      log.warn(`Notification value[${index}] skipped: ${planned.reason}`);
      outcomes[index] = 'invalid';
      continue;
    }
    if (planned.plan.kind === 'participantJoining') {
      if (joinEntry !== undefined) {
        // One response body answers one participantJoiningNotification; Graph sends them one at a time.
        log.warn(`Call ${planned.plan.callId}: value[${index}] is a second participantJoiningNotification in one delivery; ignored`);
        outcomes[index] = 'ignored';
        continue;
      }
      joinEntry = index;
    }
    const entries = byCall.get(planned.plan.callId) ?? [];
    entries.push({ index, planned });
    byCall.set(planned.plan.callId, entries);
  }

  let redeliver = false;
  let joinResponse: ParticipantJoiningResponse | undefined;
  const runCall = async (callId: string, entries: Array<{ index: number; planned: Extract<PlanResult, { ok: true }> }>) => {
    let failed = false;
    for (const { index, planned } of entries) {
      const { plan, dropped } = planned;
      for (const field of dropped) log.warn(`Call ${callId}: ${field} is not stored`);
      if (failed) {
        log.warn(`Call ${callId}: value[${index}] waits for the redelivery, after an earlier notification of this call failed`);
        outcomes[index] = 'deferred';
        continue;
      }
      try {
        if (plan.kind !== 'participantJoining') {
          outcomes[index] = await carryOut(plan, tenantId, deps);
        } else {
          const joined = await answerParticipantJoining(plan.callId, plan.tenantId ?? tenantId, deps);
          joinResponse = joined.response;
          outcomes[index] = joined.outcome;
        }
      } catch (error) {
        outcomes[index] = 'failed';
        if (storageRefusedData(error)) {
          log.error(`Call ${callId}: value[${index}] cannot be stored, not retried: ${logSafe(String(error), 500)}`);
          continue;
        }
        if (error instanceof UnreadableCallError) {
          // A redelivery would find the same row: only fixing it helps. The sweep keeps the call alive
          // by its id meanwhile, and its termination removes the row (see `readForEnd`).
          log.error(`${logSafe(error.message, 500)}; value[${index}] not applied, not retried`);
          continue;
        }
        redeliver = true;
        failed = true;
        log.error(`Call ${callId}: value[${index}] failed; asking Graph to deliver again: ${logSafe(String(error), 500)}`);
      }
    }
  };
  await Promise.all([...byCall].map(([callId, entries]) => runCall(callId, entries)));
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
      return answerIncomingCall(plan.callId, { ...plan.details, tenantId: plan.details.tenantId ?? tenantId }, plan.policyRecording, deps);
    case 'roster':
      return updateRoster(plan.callId, plan.participants, deps, plan.joinId);
    case 'updateState':
      return updateCallState(plan.callId, plan.state, plan.details, deps, plan.joinId, plan.tone);
    case 'operation':
      return applyOperation(plan.callId, plan, deps);
    case 'end':
      return endCall(plan.callId, plan.resultInfo, deps, plan.joinId);
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
 * Applies the incoming-call policy, then stores the call and answers it at once. The row is written
 * first, and only the writer that created it answers, so a duplicate delivery (or a second instance
 * receiving it) never answers twice. A rejected call gets no row.
 *
 * Graph's window (15 s; 5 s for policy-based recording) counts from the notification's arrival, so
 * every step before the answer (the active-call count, the point read, the insert, and the storage
 * SDK's own retries of them) runs against the same deadline; an answer that could only go out late
 * is not sent, and the miss is logged.
 */
export async function answerIncomingCall(
  callId: string,
  details: CallDetails,
  policyRecording: boolean,
  { store, graph, callbackUrl, clock, log, policy, activeCalls, arrivedAt, welcomePromptUrl }: NotificationDeps,
): Promise<NotificationOutcome> {
  const deadline = deadlineIn(answerDeadlineMs(policyRecording), arrivedAt);
  const missed = (step: string) => {
    log.error(
      `Call ${callId}: not answered: the ${answerDeadlineMs(policyRecording) / 1000} s answer deadline passed while ${step}` +
        `${policyRecording ? ' (policy-based recording)' : ''}`,
    );
    return 'answerMissed' as const;
  };
  let active: number | undefined;
  if (policy.maxActiveCalls > 0) {
    const counted = await beforeDeadline(
      activeCalls.count((error) =>
        log.warn(`Counting active calls failed; MAX_ACTIVE_CALLS is checked against the previous count: ${String(error)}`),
      ),
      deadline,
    );
    // A count that cannot be had in time must not cost the caller the call: the cap is soft anyway.
    if (counted === MISSED) log.warn(`Call ${callId}: the active-call count did not arrive in time; MAX_ACTIVE_CALLS not checked`);
    else active = counted;
  }
  const decision = decideIncomingCall({ tenantId: details.tenantId, policyRecording, activeCalls: active }, policy);
  if (decision.kind === 'reject') {
    // A redelivery of a call this app already answered finds the cap reached by that very call.
    const existing = await beforeDeadline(store.get(callId, { abortSignal: deadline.signal }), deadline);
    if (existing === MISSED) return missed('checking for an earlier answer before rejecting');
    if (existing) return duplicateIncoming(callId, log);
    const rejected = await graph.reject(callId, decision.reason, deadline);
    if (rejected.ok) log.info(`Call ${callId}: rejected (${decision.reason}): ${decision.why}`);
    else {
      // Not idempotent either: a failed reject may still have been done; no row is kept either way,
      // since a call that is not answered is never live.
      log.warn(
        `Call ${callId}: reject (${decision.reason}: ${decision.why}) failed ` +
          `(Graph ${rejected.status ?? 'no response'} ${rejected.code ?? ''}: ${rejected.message})`,
      );
    }
    return 'rejected';
  }
  // The claim tells this delivery's own row apart from a duplicate's: the storage SDK repeats an
  // insert whose response was lost, and the repeat's 409 must not read as "someone else answers".
  const claim = randomUUID();
  const inserted = await beforeDeadline(
    store.insert(
      {
        callId,
        state: 'incoming',
        createdAt: clock(),
        keepAliveFailures: 0,
        claim,
        ...details,
        ...(policyRecording && { policyRecording }),
        // Decided now, so a call answered before the setting existed never gets it mid-call; a
        // compliance recording bot is a silent participant, heard by nobody.
        prompt: policyRecording ? undefined : pendingPrompt(welcomePromptUrl),
      },
      { abortSignal: deadline.signal },
    ),
    deadline,
  );
  // If the insert did land after all, its row is swept like any other: the call was never
  // answered, so its first keepAlive gets 404 and the row goes.
  if (inserted === MISSED) return missed('storing the call');
  if (inserted === 'exists') {
    const existing = await beforeDeadline(store.get(callId, { abortSignal: deadline.signal }), deadline);
    if (existing === MISSED) return missed('reading back the stored call');
    if (existing?.claim !== claim) return duplicateIncoming(callId, log);
    log.info(`Call ${callId}: its row was stored by a repeat of an insert whose answer was lost; answering`);
  }

  // From here on the row stays unless Graph says clearly that the call is gone or not ours to
  // answer: answer is not idempotent (https://learn.microsoft.com/en-us/graph/api/call-answer),
  // so a lost response, a 5xx, a timeout or a refused repeat says nothing about whether Graph
  // answered. A row kept for a call that was not answered costs one keepAlive, which answers
  // 404 and removes it; a live call without a row would be dropped at 45 minutes.
  const outcome = await graph.answer(callId, answerRequest(callbackUrl, decision.participantCapacity), deadline);
  if (outcome.ok) {
    activeCalls.noteAnswered();
    log.info(`Call ${callId}: answered${policyRecording ? ' (policy-based recording)' : ''}`);
    return 'answered';
  }
  const detail = `Graph ${outcome.status ?? 'no response'} ${outcome.code ?? ''}: ${outcome.message}`;
  if (outcome.code === 'NotSent') {
    // Certain that nothing reached Graph (no token, or the deadline passed while one was fetched):
    // nothing to track, and a redelivery may find a token. Thrown, so the delivery is answered 503.
    await store.remove(callId);
    throw new Error(`Call ${callId}: not answered, no request reached Graph (${detail}); Graph is asked to deliver the notification again`);
  }
  if (outcome.status === 429 || outcome.code === 'TimedOut') {
    // Certain that Graph did not answer: a 429 means it did nothing, and `TimedOut` means the deadline
    // came before any (further) request was sent, after nothing but 429s. Nothing to track.
    await store.remove(callId);
    log.error(`Call ${callId}: not answered before the ${answerDeadlineMs(policyRecording) / 1000} s answer deadline (${detail})`);
    return 'answerMissed';
  }
  if (outcome.status === 404 || outcome.status === 403) {
    // A redelivery of the notification may try again: nothing is tracked for this call.
    await store.remove(callId);
    if (outcome.status === 404) log.warn(`Call ${callId}: ended before it could be answered (${detail})`);
    else log.error(`Call ${callId}: answer refused (${detail})`);
    return 'answerFailed';
  }
  log.error(
    `Call ${callId}: answer outcome is ambiguous (${detail}); still tracked in case Graph answered, its first keepAlive settles it`,
  );
  return 'answerAmbiguous';
}

const MISSED = Symbol('missed');

/**
 * The work's result, or MISSED once the deadline passes. The work is given the deadline's signal,
 * but may outlive it: a row written in a transaction with other calls' rows goes on until all of
 * them are given up (or for at most a second), and may land after this call's answer was missed
 * (its first keepAlive then answers 404 and the row goes).
 */
async function beforeDeadline<T>(work: Promise<T>, deadline: Deadline): Promise<T | typeof MISSED> {
  try {
    return await untilAborted(work, deadline.signal);
  } catch (error) {
    // The deadline itself, or the storage SDK rejecting a request the deadline aborted: not a fault.
    if (deadline.signal.aborted) return MISSED;
    throw error;
  }
}

function duplicateIncoming(callId: string, log: Logger): NotificationOutcome {
  log.info(`Call ${callId}: duplicate incoming notification; it is already being answered`);
  return 'duplicate';
}

export async function updateCallState(
  callId: string,
  reported: CallState,
  details: CallDetails,
  deps: NotificationDeps,
  joinId?: string,
  tone?: { sequenceId: number; tone: string },
): Promise<NotificationOutcome> {
  const { store, clock, log } = deps;
  // Set by the decision that was written (a decision may run again after a conflicting write).
  let toneAdded = false;
  const apply = () =>
    store.update(callId, (current) => {
      const now = clock();
      const state = stateChange(current, reported, details, now);
      const pressed = tone && current.state !== 'terminated' ? toneChange(current, tone, now) : undefined;
      toneAdded = pressed !== undefined;
      return state || pressed ? { ...state, ...pressed } : undefined;
    });
  let result = await apply();
  // Never create a row from an update alone: a late update after `terminated` would resurrect the
  // call. Only a call of one of the bot's own joins, whose row is not there yet, is adopted.
  if (result.outcome === 'missing' && joinId !== undefined && (await adoptOrEnd(callId, joinId, deps)) === 'adopted') {
    result = await apply();
  }
  if (result.outcome === 'missing') {
    log.warn(`Call ${callId}: "${reported}" notification for a call that is not tracked; ignored`);
    return 'unknownCall';
  }
  const call = result.call;
  if (result.outcome === 'unchanged') {
    log.info(`Call ${callId}: "${reported}" does not move the call from "${call.state}"; ignored`);
  } else if (toneAdded) {
    log.info(`Call ${callId}: key ${tone!.tone} pressed`);
  } else if (call.state !== reported) {
    log.info(`Call ${callId}: kept "${call.state}" over the stale "${reported}"; its details were recorded`);
  } else {
    log.info(`Call ${callId}: now ${call.state}`);
  }
  // Checked on every report of an established call, not only the first: a delivery that failed
  // after the state was written is redelivered, and finds the prompt still to be played.
  if (call.state === 'established' && call.hangUpRequestedAt === undefined) await startCallMedia(call, deps);
  if (toneAdded) await hangUpIfDue(callId, deps, call);
  return result.outcome === 'unchanged' ? 'stale' : 'updated';
}

/**
 * The change a state report makes to a stored call, or undefined when it changes nothing.
 * A stale state is not applied, but details it carries (e.g. chatInfo) are still kept.
 */
export function stateChange(current: StoredCall, reported: CallState, details: CallDetails, now: Date): CallChange | undefined {
  const state = nextCallState(current.state, reported) ?? current.state;
  const newDetails = Object.fromEntries(
    Object.entries(details).filter(
      ([key, value]) => value !== undefined && JSON.stringify(value) !== JSON.stringify(current[key as keyof CallDetails]),
    ),
  ) as CallDetails;
  const establishedAt = state === 'established' && current.establishedAt === undefined ? now : undefined;
  // A rejoined meeting that is established again earns a fresh set of rejoin attempts.
  const rejoinAttempts = state === 'established' && (current.rejoinAttempts ?? 0) > 0 ? 0 : undefined;
  if (state === current.state && establishedAt === undefined && rejoinAttempts === undefined && Object.keys(newDetails).length === 0) {
    return undefined;
  }
  return { ...newDetails, state, establishedAt, rejoinAttempts };
}

/** A roster notification: the participant count, and whether the bot is now alone (for LEAVE_WHEN_ALONE_MINUTES). */
export async function updateRoster(
  callId: string,
  participants: Record<string, unknown>[],
  deps: NotificationDeps,
  joinId?: string,
): Promise<NotificationOutcome> {
  const { store, clock, log, botAppId } = deps;
  const apply = () => store.update(callId, (current) => rosterChange(current, participants, botAppId, clock()));
  let result = await apply();
  if (result.outcome === 'missing' && joinId !== undefined && (await adoptOrEnd(callId, joinId, deps)) === 'adopted') {
    result = await apply();
  }
  if (result.outcome === 'missing') {
    log.warn(`Call ${callId}: roster notification for a call that is not tracked; ignored`);
    return 'unknownCall';
  }
  if (result.outcome === 'updated') {
    log.info(`Call ${callId}: ${result.call.participantCount} participant(s)${result.call.alone ? ', the bot is alone' : ''}`);
  }
  return 'roster';
}

/**
 * Deletes the row of an ended call and logs why it ended. A meeting the bot joined that ended
 * abnormally gets a rejoin scheduled; only the delivery that removed the row does so, so a
 * redelivered terminated notification never rejoins twice. If the rejoin cannot be scheduled, the
 * row is put back and the error goes up: the notification is answered 5xx, and Graph's redelivery
 * tries again.
 */
export async function endCall(
  callId: string,
  resultInfo: ResultInfo | undefined,
  deps: NotificationDeps,
  joinId?: string,
): Promise<NotificationOutcome> {
  const { store, log } = deps;
  const call = await readForEnd(callId, deps);
  // A join's create may not have answered yet: it must find the end on its ledger entry, or it
  // would store the row of this call again after it is gone.
  if (call && joinId !== undefined) await noteEndOfTrackedJoin(callId, joinId, resultInfo, deps);
  // Every delivery that found the row handles the end, whatever its delete answered (a delete whose
  // response was lost is repeated by the storage SDK and answers 404). A rejoin scheduled twice (two
  // deliveries at once) is made once: each attempt's join id is derived from the call and the attempt.
  await store.remove(callId);
  const report = describeTermination(callId, resultInfo);
  if (report.keepAliveTimeout) recordCallDropped(callId, resultInfo?.code, resultInfo?.subcode);
  const endOf = async (row: StoredCall) => {
    await rejoinOrRestore(row, resultInfo, deps, joinId);
    await recordEndedCall(row, { resultInfo, endedBy: 'notification' }, deps);
  };
  if (!call && joinId !== undefined && (await endOfUntrackedJoin(callId, joinId, resultInfo, deps)) === 'noted') {
    // The join may have stored the row in the meantime: the end is then handled as any other.
    const late = await store.get(callId);
    if (late) {
      await store.remove(callId);
      log[report.level](report.message);
      await endOf(late);
    }
    return 'ended';
  }
  log[report.level](call ? report.message : `${report.message}; it was not tracked`);
  if (call) await endOf(call);
  return 'ended';
}

/** A call of one of the bot's joins without a row: adopted when its join allows, else ended on purpose. */
async function adoptOrEnd(callId: string, joinId: string, deps: NotificationDeps): Promise<'adopted' | 'ended' | 'hungUp'> {
  const adopted = await adoptJoinedCall(callId, joinId, deps);
  if (adopted !== 'notAdopted') return adopted;
  await hangUpUntrackedJoinCall(callId, joinId, deps);
  return 'hungUp';
}

/**
 * The row of an ending call, if it can be read. A row this version cannot read must not keep the
 * termination failing (a 5xx that Graph would redeliver for ever): it is removed all the same, only
 * without the rejoin decision that needed its columns.
 */
async function readForEnd(callId: string, { store, log }: NotificationDeps): Promise<StoredCall | undefined> {
  try {
    return await store.get(callId);
  } catch (error) {
    if (!(error instanceof UnreadableCallError)) throw error;
    log.warn(`${error.message}; it is removed on its termination, without a rejoin decision`);
    return undefined;
  }
}

async function rejoinOrRestore(
  call: StoredCall,
  resultInfo: ResultInfo | undefined,
  deps: NotificationDeps,
  joinId: string | undefined,
): Promise<void> {
  try {
    await scheduleRejoin(call, resultInfo, deps);
  } catch (error) {
    const { etag: _, ...record } = call;
    await deps.store.insert(record);
    // The end is not handled after all: a create answer arriving meanwhile must deal with it.
    if (joinId !== undefined) await reopenEndOfTrackedJoin(call.callId, joinId, deps);
    deps.log.error(
      `Call ${call.callId}: the rejoin could not be scheduled (${error instanceof Error ? error.message : String(error)}); ` +
        'its row is kept so that the redelivered notification tries again',
    );
    throw error;
  }
}
