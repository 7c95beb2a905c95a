/**
 * Text from a request made fit for one log line: control characters (which could forge a line
 * break or a terminal escape) become spaces, and the result is cut at `maxLength` characters.
 */
export function logSafe(value: unknown, maxLength = 200): string {
  const text = typeof value === 'string' ? value : String(value);
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}
