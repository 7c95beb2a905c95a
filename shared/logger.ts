/** The slice of `InvocationContext` the shared code logs through, so it runs outside Functions too. */
export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}
