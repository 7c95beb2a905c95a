import { app } from '@azure/functions';
import type { Logger } from '../shared/logger.js';
import { appRuntime, type Runtime } from './app/runtime.js';
import { warmUp } from '../shared/warmUp.js';

/**
 * Runs once as each instance starts (the host awaits appStart hooks before the instance takes
 * work). There is no invocation to log through yet; the host collects console output instead.
 */
export async function warmUpOnStart(runtime: () => Runtime, log: Logger = console): Promise<void> {
  try {
    const rt = runtime();
    await warmUp({ authenticator: rt.authenticator, graphCredential: rt.graphCredential, log });
  } catch (error) {
    // A bad setting, most likely: every function names it on its first call. A hook that throws
    // would stop the instance from starting at all.
    log.error(`Warm-up skipped: ${error instanceof Error ? error.message : String(error)}`);
  }
}

app.hook.appStart(() => warmUpOnStart(appRuntime));
