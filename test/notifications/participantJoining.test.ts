import { describe, expect, it } from 'vitest';
import { joinDecision } from '../../shared/notifications/participantJoining.js';

describe('joinDecision', () => {
  it.each([
    ['the invitation alone (no count yet)', undefined, 200, { kind: 'accept', handled: 2 }],
    ['room left', 5, 200, { kind: 'accept', handled: 6 }],
    ['the last place', 199, 200, { kind: 'accept', handled: 200 }],
    ['at capacity', 200, 200, { kind: 'busy', handled: 200 }],
    ['over capacity (the setting was lowered)', 250, 200, { kind: 'busy', handled: 250 }],
    ['a capacity of one: the invitation fills it', undefined, 1, { kind: 'busy', handled: 1 }],
  ] as const)('%s', (_name, handled, capacity, expected) => {
    expect(joinDecision(handled, capacity)).toEqual(expected);
  });
});
