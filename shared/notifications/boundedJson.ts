type JsonObject = Record<string, unknown>;

// What the bot keeps of Graph's call data has to fit a Table Storage row: a string property holds
// at most 64 KiB of UTF-16 (32,768 characters) and a whole entity at most 1 MiB
// (https://learn.microsoft.com/en-us/rest/api/storageservices/understanding-the-table-service-data-model).
// A row stores up to four JSON columns (source, chatInfo, meetingInfo, joinInfo), so 16,384
// characters each leaves the entity far under 1 MiB. Real values are a few hundred characters.
export const MAX_STORED_JSON_CHARS = 16_384;
// Graph's call data nests a handful of levels (source.identity.user.id). A deeper value is not
// Graph's, and beyond a few thousand levels JSON.stringify overflows the stack.
export const MAX_STORED_JSON_DEPTH = 32;
// Tenant ids are GUIDs, directions are short enum words: anything longer is not Graph's.
export const MAX_STORED_STRING_CHARS = 256;

export type Bounded<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * `value` when it is small and shallow enough to be stored as a JSON column, otherwise why not.
 * Pure; the depth is measured without recursion, so no input can overflow the stack.
 */
export function boundedJson(value: JsonObject): Bounded<JsonObject> {
  const depth = depthExceeding(value, MAX_STORED_JSON_DEPTH);
  if (depth !== undefined) return { ok: false, why: `nested deeper than ${MAX_STORED_JSON_DEPTH} levels` };
  const chars = JSON.stringify(value).length;
  if (chars > MAX_STORED_JSON_CHARS) {
    return { ok: false, why: `${chars} characters as JSON, over ${MAX_STORED_JSON_CHARS}` };
  }
  return { ok: true, value };
}

/** `value` when it is short enough to be stored as a string column, otherwise why not. Pure. */
export function boundedString(value: string, maxChars = MAX_STORED_STRING_CHARS): Bounded<string> {
  if (value.length > maxChars) return { ok: false, why: `${value.length} characters, over ${maxChars}` };
  return { ok: true, value };
}

/** The first depth past `limit` found in `value`, or undefined when it nests no deeper. */
function depthExceeding(value: unknown, limit: number): number | undefined {
  const pending: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { node, depth } = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return depth;
    for (const child of Object.values(node)) pending.push({ node: child, depth: depth + 1 });
  }
  return undefined;
}
