// A call id becomes a Table Storage RowKey, which may not contain '/', '\', '#', '?' or control
// characters (the same rule the notification parser applies to resourceUrl).
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CALL_ID = /^[^/?#\\\u0000-\u001f\u007f]{1,256}$/;

export function isCallId(value: string): boolean {
  return CALL_ID.test(value);
}
