import { randomUUID } from 'node:crypto';
import type { CallStore, StoredCall } from './callStore.js';

/**
 * Makes this delivery the one that handles a call's end (its rejoin above all), under the row's
 * ETag, before the row is deleted. Deciding by the delete's own answer is not enough: when its
 * response is lost, the storage SDK sends the delete again and gets 404, and the end would look
 * handled by someone else. Returns the row when the end is this delivery's to handle.
 */
export async function claimEnd(call: StoredCall, store: Pick<CallStore, 'update'>): Promise<StoredCall | undefined> {
  const claim = randomUUID();
  const result = await store.update(call.callId, (current) => (current.endClaim ? undefined : { endClaim: claim }), call);
  if (result.outcome === 'missing') return undefined;
  return result.call.endClaim === claim ? result.call : undefined;
}
