import { describe, expect, it } from 'vitest';
import { leaveWhenAlone } from '../../shared/calls/leaveWhenAlone.js';
import { rosterChange } from '../../shared/calls/roster.js';

const BOT = '2891555a-92ff-42e6-80fa-6e1300c6b5c6';
const now = new Date('2024-05-01T10:00:00Z');
const earlier = new Date('2024-05-01T09:00:00Z');
const person = (id: string) => ({ id, info: { identity: { user: { id: `u-${id}` } } } });
const botByApp = { id: 'bot-p', info: { identity: { application: { id: BOT.toUpperCase() } } } };
const botById = { id: 'my-p', info: { identity: { application: { id: 'some-other-app' } } } };

describe('rosterChange', () => {
  it.each([
    ['people join', {}, [person('a'), person('b'), botByApp], { participantCount: 3, alone: false, aloneSince: undefined }],
    ['everyone leaves', { participantCount: 3, alone: false }, [botByApp], { participantCount: 1, alone: true, aloneSince: now }],
    ['an empty roster', { participantCount: 2, alone: false }, [], { participantCount: 0, alone: true, aloneSince: now }],
    ['the bot known by its participant id', { myParticipantId: 'my-p' }, [botById], { participantCount: 1, alone: true, aloneSince: now }],
    [
      'another application counts as company',
      { participantCount: 1, alone: true },
      [botByApp, botById],
      { participantCount: 2, alone: false, aloneSince: undefined },
    ],
    [
      'someone comes back',
      { participantCount: 1, alone: true },
      [botByApp, person('a')],
      { participantCount: 2, alone: false, aloneSince: undefined },
    ],
  ] as const)('%s', (_name, current, participants, change) => {
    expect(rosterChange(current, participants, BOT, now)).toEqual(change);
  });

  it('keeps the time the bot became alone while it stays alone', () => {
    expect(rosterChange({ participantCount: 1, alone: true }, [botByApp, botByApp], BOT, now)).toEqual({
      participantCount: 2,
      alone: true,
      aloneSince: undefined,
    });
  });

  it('changes nothing for the same roster again', () => {
    expect(rosterChange({ participantCount: 2, alone: false }, [botByApp, person('a')], BOT, now)).toBeUndefined();
  });
});

describe('leaveWhenAlone', () => {
  const minute = 60_000;
  it.each([
    ['alone for exactly the setting', { alone: true, aloneSince: new Date(now.getTime() - 5 * minute) }, 5, true],
    ['alone for longer', { alone: true, aloneSince: earlier }, 5, true],
    ['alone, not long enough', { alone: true, aloneSince: new Date(now.getTime() - 4 * minute) }, 5, false],
    ['not alone (a stale aloneSince is ignored)', { alone: false, aloneSince: earlier }, 5, false],
    ['no roster seen yet', {}, 5, false],
    ['the setting is off', { alone: true, aloneSince: earlier }, 0, false],
  ] as const)('%s -> %s', (_name, call, minutes, leave) => {
    expect(leaveWhenAlone(call, now, minutes)).toBe(leave);
  });
});
