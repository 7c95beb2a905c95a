import type { ResultInfo } from '../notifications/notificationSchema.js';

export interface TerminationReport {
  level: 'info' | 'warn' | 'error';
  message: string;
  /** Graph ended the call because no keepAlive succeeded for 45 minutes (https://learn.microsoft.com/en-us/graph/api/call-keepalive). */
  keepAliveTimeout: boolean;
}

const KEEPALIVE_TIMEOUT = { code: 408, subcode: 8537 };

/** How to report a call's end, from the `resultInfo` of its terminated notification. */
export function describeTermination(callId: string, resultInfo: ResultInfo | undefined): TerminationReport {
  const code = resultInfo?.code;
  const subcode = resultInfo?.subcode;
  const detail = `resultInfo ${code ?? '-'}/${subcode ?? '-'}${resultInfo?.message ? `: ${resultInfo.message}` : ''}`;
  if (code === KEEPALIVE_TIMEOUT.code && subcode === KEEPALIVE_TIMEOUT.subcode) {
    return {
      level: 'error',
      message: `Call ${callId} was dropped by Graph for a missing keepAlive (${detail})`,
      keepAliveTimeout: true,
    };
  }
  return {
    level: code !== undefined && code >= 400 ? 'warn' : 'info',
    message: `Call ${callId} ended (${detail})`,
    keepAliveTimeout: false,
  };
}
