import { app } from '@azure/functions';
import type { Logger } from '../shared/logger.js';
import { appRuntime, type Runtime } from './app/runtime.js';
import { warmUp } from '../shared/warmUp.js';

/**
 * The warm-up of one instance: its failures are logged, never thrown. There is no invocation to
 * log through yet; the host collects console output instead.
 */
export async function warmUpOnStart(runtime: () => Runtime, log: Logger = console): Promise<void> {
  try {
    const rt = runtime();
    await warmUp({ authenticator: rt.authenticator, graphCredential: rt.graphCredential, callStore: rt.store, log });
  } catch (error) {
    // A bad setting, most likely: every function names it on its first call. A hook that throws
    // would stop the instance from starting at all.
    log.error(`Warm-up skipped: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The appStart hook: starts the warm-up and returns at once. The worker waits for appStart hooks
 * before the instance takes work
 * (https://learn.microsoft.com/en-us/azure/azure-functions/functions-reference-node#hooks); held
 * there, a slow token endpoint would keep a first notification waiting for up to the warm-up's
 * 10 s, past the 5 s a policy-based recording call is answered in. Not held, a notification that
 * comes meanwhile joins the key and token fetches under way (both share requests in flight).
 */
export function startWarmUp(): void {
  void warmUpOnStart(appRuntime);
}

app.hook.appStart(startWarmUp);
