import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

// `npm run simulate` as a user runs it (in-process mode): its own Azurite and simulator, a fresh
// certificate it must re-run itself to trust, and a final consistency check between app and Graph.
it('plays the call traffic in-process and ends with the app tracking exactly the calls live at Graph', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'simulate-'));
  try {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/simulate.ts', '--json', '--calls', '4', '--meetings', '2'],
      {
        env: { ...process.env, SIMULATE_STATE_DIR: stateDir, NODE_EXTRA_CA_CERTS: '' },
        timeout: 90_000,
      },
    );
    expect(JSON.parse(stdout)).toEqual({
      incomingCalls: 4,
      answered: 4,
      meetingsJoined: 2,
      // Called, heard the prompt, pressed 1: the bot hung up, and the history says so.
      outgoingCall: { answered: true, tones: ['tone1'], state: 'terminated' },
      // Sweep 1 keeps all 6 alive (3 after a 429), sweep 2 the 3 left alive: one caller hung up,
      // one call ended silently (404), one meeting was hung up by the bot.
      keepAlivesOk: 9,
      throttled: 3,
      endedByNotification: 1,
      cleanedUpAfter404: 1,
      hungUpByBot: 1,
      stillActive: 3,
      tracked: 3,
      mismatches: [],
    });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}, 120_000);
