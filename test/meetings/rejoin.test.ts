import { describe, expect, it } from 'vitest';
import type { ResultInfo } from '../../shared/notifications/notificationSchema.js';
import type { StoredCall } from '../../shared/calls/callStore.js';
import { endedAbnormally, rejoinDecision, rejoinDelayMs } from '../../shared/meetings/rejoin.js';

const joined: StoredCall = {
  callId: 'c1',
  etag: 'e',
  state: 'established',
  createdAt: new Date(0),
  keepAliveFailures: 0,
  joinInfo: { meetingInfo: { joinMeetingId: '1234567' }, tenantId: 't' },
};

describe('endedAbnormally', () => {
  it.each([
    [{ code: 408, subcode: 8537 }, true, 'keepAlive timeout'],
    [{ code: 410, subcode: 301005 }, true, 'media failure'],
    [{ code: 500, subcode: 0 }, true, 'service fault'],
    [{ code: 503 }, true, 'service unavailable'],
    [{ code: 200, subcode: 5001 }, false, 'conversation ended'],
    [{ code: 200, subcode: 5014 }, false, 'conversation ended (last of the range)'],
    [{ code: 200, subcode: 7000 }, false, 'ended by the bot'],
    [{ message: 'no code' }, false, 'no code'],
    [undefined, false, 'no resultInfo'],
  ] as const)('%o -> %s (%s)', (resultInfo, abnormal, _meaning) => {
    expect(endedAbnormally(resultInfo as ResultInfo | undefined)).toBe(abnormal);
  });
});

describe('rejoinDecision', () => {
  const media = { code: 410, subcode: 301005 };
  it.each([
    ['a joined meeting lost to a media failure', joined, media, 3, { rejoin: true, firstAttempt: 1 }],
    ['the second failure in a row', { ...joined, rejoinAttempts: 1 }, media, 3, { rejoin: true, firstAttempt: 2 }],
    ['attempts used up', { ...joined, rejoinAttempts: 3 }, media, 3, { rejoin: false, reason: 'all 3 rejoin attempts are used' }],
    ['rejoin off', joined, media, 0, { rejoin: false, reason: 'rejoin is off' }],
    ['a normal end', joined, { code: 200, subcode: 5001 }, 3, { rejoin: false, reason: 'a normal end' }],
    ['a hang-up the bot asked for', { ...joined, hangUpRequestedAt: new Date(1) }, media, 3, { rejoin: false, reason: 'the bot hung up' }],
    [
      'an answered call, not a join',
      { ...joined, joinInfo: undefined },
      media,
      3,
      { rejoin: false, reason: 'not a meeting the bot joined' },
    ],
  ] as const)('%s', (_name, call, resultInfo, max, decision) => {
    expect(rejoinDecision(call, resultInfo, max)).toEqual(decision);
  });
});

describe('rejoinDelayMs', () => {
  it.each([
    [1, 2, 2000],
    [2, 2, 4000],
    [3, 2, 8000],
    [1, 0, 0],
  ])('attempt %i with a %i s base waits %i ms', (attempt, base, ms) => {
    expect(rejoinDelayMs(attempt, base)).toBe(ms);
  });
});
