import { app, type InvocationContext } from '@azure/functions';
import { parseRejoinMessage, REJOIN_QUEUE_NAME } from '../shared/meetings/rejoinQueue.js';
import { settlePendingJoin } from '../shared/meetings/adoptJoinedCall.js';
import { runRejoinAttempt, type RejoinOutcome } from '../shared/meetings/rejoin.js';
import { appRuntime, joinDepsOf, type Runtime } from './app/runtime.js';

/**
 * The meeting queue: one rejoin attempt per message (its visibility delay was the backoff), or the
 * settling of a join some minutes after it was asked for.
 */
export function createMeetingRejoinHandler(runtime: () => Runtime) {
  return async (message: unknown, context: InvocationContext): Promise<RejoinOutcome | 'gone' | 'settled' | 'noCall' | 'refused'> => {
    const parsed = parseRejoinMessage(message);
    if (!parsed.ok) {
      // Retrying cannot fix it; returning lets the host delete it rather than cycle it to the poison queue.
      context.error(`Rejoin message refused (${parsed.reason})`);
      return 'refused';
    }
    // A thrown error (storage down) makes the host retry the message, up to maxDequeueCount.
    const deps = joinDepsOf(runtime(), context);
    const { message: parsedMessage } = parsed;
    return parsedMessage.kind === 'settleJoin'
      ? settlePendingJoin(parsedMessage.joinId, parsedMessage.next, deps)
      : runRejoinAttempt(parsedMessage, deps);
  };
}

export const meetingRejoin = createMeetingRejoinHandler(appRuntime);

app.storageQueue('meetingRejoin', {
  queueName: REJOIN_QUEUE_NAME,
  connection: 'AzureWebJobsStorage',
  handler: meetingRejoin,
});
