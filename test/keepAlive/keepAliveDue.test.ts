import { describe, expect, it } from 'vitest';
import { keepAliveDue } from '../../shared/keepAlive/keepAliveDue.js';

const start = new Date('2026-01-01T10:00:00Z');
const at = (minutes: number) => new Date(start.getTime() + minutes * 60_000);

describe('keepAliveDue', () => {
  it.each([
    ['a new call before the interval', { createdAt: start }, 14.9, 15, false],
    ['a new call at the interval', { createdAt: start }, 15, 15, true],
    ['a call kept alive recently', { createdAt: start, lastKeepAliveAt: at(20) }, 30, 15, false],
    ['a call whose last keepAlive is old enough', { createdAt: start, lastKeepAliveAt: at(20) }, 35, 15, true],
    ['any call with interval 0', { createdAt: start, lastKeepAliveAt: at(20) }, 20, 0, true],
  ])('%s', (_name, call, nowMinutes, interval, due) => {
    expect(keepAliveDue(call, at(nowMinutes), interval)).toBe(due);
  });
});
