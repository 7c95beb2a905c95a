import { app, type InvocationContext } from '@azure/functions';
import { parseRejoinMessage, REJOIN_QUEUE_NAME } from '../shared/meetings/rejoinQueue.js';
import { runRejoinAttempt, type RejoinOutcome } from '../shared/meetings/rejoin.js';
import { appRuntime, joinDepsOf, type Runtime } from '../shared/runtime.js';

/** One rejoin attempt per message; the message's visibility delay was the backoff. */
export function createMeetingRejoinHandler(runtime: () => Runtime) {
  return async (message: unknown, context: InvocationContext): Promise<RejoinOutcome | 'refused'> => {
    const parsed = parseRejoinMessage(message);
    if (!parsed.ok) {
      // Retrying cannot fix it; returning lets the host delete it rather than cycle it to the poison queue.
      context.error(`Rejoin message refused (${parsed.reason})`);
      return 'refused';
    }
    // A thrown error (storage down) makes the host retry the message, up to maxDequeueCount.
    return runRejoinAttempt(parsed.message, joinDepsOf(runtime(), context));
  };
}

export const meetingRejoin = createMeetingRejoinHandler(appRuntime);

app.storageQueue('meetingRejoin', {
  queueName: REJOIN_QUEUE_NAME,
  connection: 'AzureWebJobsStorage',
  handler: meetingRejoin,
});
