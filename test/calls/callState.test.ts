import { describe, expect, it } from 'vitest';
import { nextCallState, type CallState } from '../../shared/calls/callState.js';

describe('nextCallState', () => {
  it.each<[CallState, CallState, CallState | undefined]>([
    ['incoming', 'establishing', 'establishing'],
    ['incoming', 'established', 'established'],
    ['establishing', 'established', 'established'],
    ['established', 'establishing', undefined],
    ['established', 'incoming', undefined],
    ['established', 'hold', 'hold'],
    ['hold', 'established', 'established'],
    ['established', 'terminating', 'terminating'],
    ['terminating', 'established', undefined],
    ['establishing', 'establishing', 'establishing'],
  ])('%s + report %s -> %s', (current, reported, expected) => {
    expect(nextCallState(current, reported)).toBe(expected);
  });
});
