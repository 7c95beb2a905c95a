// A call id becomes a Table Storage RowKey, which may not contain '/', '\', '#', '?' or control
// characters (the same rule the notification parser applies to resourceUrl).
const CALL_ID = /^[^/?#\\\u0000-\u001f\u007f]{1,256}$/;

export function isCallId(value: string): boolean {
  return CALL_ID.test(value);
}
