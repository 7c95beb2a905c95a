// Graph posts a call's notifications to the callbackUri its create named, and repeats that URI in
// each commsNotification (https://learn.microsoft.com/en-us/graph/api/application-post-calls,
// "Notification - establishing"). A join names the callback with its join id as a query parameter,
// so a notification for a call whose create answer was lost still says which join made it.

const JOIN_ID_PARAMETER = 'joinId';
const JOIN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** BOT_CALLBACK_URL with the join id added. */
export function callbackUrlForJoin(callbackUrl: string, joinId: string): string {
  const url = new URL(callbackUrl);
  url.searchParams.set(JOIN_ID_PARAMETER, joinId);
  return url.toString();
}

/** The join id a notification's callbackUri carries, if any. Pure. */
export function joinIdOf(callbackUri: unknown): string | undefined {
  if (typeof callbackUri !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(callbackUri);
  } catch {
    return undefined;
  }
  const joinId = url.searchParams.get(JOIN_ID_PARAMETER);
  return joinId !== null && JOIN_ID.test(joinId) ? joinId.toLowerCase() : undefined;
}
