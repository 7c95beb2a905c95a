/** The call states Graph reports (https://learn.microsoft.com/en-us/graph/api/resources/call: `state`). */
export const CALL_STATES = [
  'incoming',
  'establishing',
  'ringing',
  'established',
  'hold',
  'transferring',
  'transferAccepted',
  'redirecting',
  'terminating',
  'terminated',
] as const;

export type CallState = (typeof CALL_STATES)[number];

export function isCallState(value: string): value is CallState {
  return (CALL_STATES as readonly string[]).includes(value);
}

// How far along its life a call is. Graph may deliver establishing/established out of order
// (https://learn.microsoft.com/en-us/graph/api/call-answer: "Call establishing/established notifications may arrive out of order"), so a
// report may only keep a call where it is or move it forward. States of equal progress
// (established <-> hold, transferring) may alternate freely.
const PROGRESS: Record<CallState, number> = {
  incoming: 0,
  ringing: 1,
  establishing: 1,
  redirecting: 1,
  established: 2,
  hold: 2,
  transferring: 2,
  transferAccepted: 2,
  terminating: 3,
  terminated: 4,
};

/**
 * The state a call should be in after Graph reports `reported` for a call currently in `current`,
 * or `undefined` when the report is stale and must be ignored.
 */
export function nextCallState(current: CallState, reported: CallState): CallState | undefined {
  return PROGRESS[reported] >= PROGRESS[current] ? reported : undefined;
}
