import type { Timer } from '@azure/functions';

/** A timer trigger's input, as the host passes it to the keepAlive sweep. */
export const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: true },
  scheduleStatus: { last: new Date().toISOString(), next: new Date().toISOString(), lastUpdated: new Date().toISOString() },
};
