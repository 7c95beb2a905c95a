// Control characters (CR and LF forge log lines, ESC drives terminals), format characters
// (bidirectional overrides reorder what a reader sees) and the Unicode line separators.
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/**
 * Text that came from a request (anyone can post to the notification URL), made safe to log:
 * unsafe characters shown as `\u{..}` escapes, and cut to `maxLength` characters with a note of
 * how much was left out. Only as much of the input as fits is read, so a huge value costs little.
 */
export function logSafe(value: unknown, maxLength = 200): string {
  const text = asText(value);
  let out = '';
  let read = 0;
  for (const char of text) {
    const shown = UNSAFE.test(char) ? `\\u{${char.codePointAt(0)!.toString(16)}}` : char;
    if (out.length + shown.length > maxLength) return `${out}…(${text.length - read} more characters)`;
    out += shown;
    read += char.length;
  }
  return out;
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch (error) {
      // A cycle or a BigInt inside (TypeError), or nesting too deep to print (RangeError): the
      // object's kind will do for a log line.
      if (!(error instanceof TypeError) && !(error instanceof RangeError)) throw error;
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
