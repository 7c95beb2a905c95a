import { en } from 'zod/locales';
import { config, NEVER, type core } from 'zod/mini';

/**
 * zod's functional API (`zod/mini`), with its English messages. Every schema of the app is built
 * when its module loads, so a cold instance builds them all before its first answer: the classic
 * API's schemas each carry a few dozen bound methods (a script building 160 schemas of ours took
 * 111-131 ms of process time with it, 84-91 ms with this; docs/performance.md). The checks and
 * messages are the same zod's.
 */
config(en());

export * from 'zod/mini';

/**
 * Records `message` as the issue of the value a transform was given, and returns zod's NEVER for
 * the transform to return (zod/mini's transforms have no `addIssue`).
 */
export function refuse(payload: core.ParsePayload, message: string): never {
  payload.issues.push({ code: 'custom', message, input: payload.value });
  return NEVER;
}
