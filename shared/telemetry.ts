import type { Logger } from './logger.js';

/**
 * Logs a named event as one line of JSON after its name, so Application Insights can chart its
 * fields: `traces | where message startswith "<name> " | extend f = parse_json(substring(message, strlen("<name> ")))`.
 * (A Node.js function's context log reaches Application Insights as a trace message only.)
 */
export function logEvent(log: Logger, level: 'info' | 'warn' | 'error', name: string, fields: Record<string, unknown>): void {
  log[level](`${name} ${JSON.stringify({ event: name, ...fields })}`);
}
