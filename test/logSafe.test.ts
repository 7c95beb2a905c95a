import { describe, expect, it } from 'vitest';
import { logSafe } from '../shared/logSafe.js';

describe('logSafe', () => {
  it.each([
    ['plain text', 'ERR_JWT_EXPIRED: "exp" claim timestamp check failed', 'ERR_JWT_EXPIRED: "exp" claim timestamp check failed'],
    ['a forged log line (CR LF)', 'bad\r\n[error] admin logged in', 'bad\\u{d}\\u{a}[error] admin logged in'],
    ['a terminal escape', 'x\u001b[31mred', 'x\\u{1b}[31mred'],
    ['a bidirectional override', 'abc\u202Egpj.exe', 'abc\\u{202e}gpj.exe'],
    ['a Unicode line separator', 'a\u2028b', 'a\\u{2028}b'],
    ['a tab and NUL', 'a\tb\u0000', 'a\\u{9}b\\u{0}'],
    ['non-ASCII text, kept', 'Zoë 通話 📞', 'Zoë 通話 📞'],
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
    ['an object', { kid: 'a\nb' }, '{"kid":"a\\nb"}'],
    ['an Error', new Error('boom\nline'), 'boom\\u{a}line'],
  ])('%s', (_name, value, expected) => {
    expect(logSafe(value)).toBe(expected);
  });

  it('cuts long text to the limit and says how much was left out', () => {
    const text = 'a'.repeat(1_000_000);
    const safe = logSafe(text, 200);
    expect(safe).toBe(`${'a'.repeat(200)}…(999800 more characters)`);
  });

  it('counts escapes against the limit, and never splits one', () => {
    expect(logSafe('ab\ncd', 5)).toBe('ab…(3 more characters)');
    expect(logSafe('\n'.repeat(10), 12)).toBe('\\u{a}\\u{a}…(8 more characters)');
  });

  it('does not split a character outside the Basic Multilingual Plane', () => {
    expect(logSafe('📞📞📞', 3)).toBe('📞…(4 more characters)');
  });

  it('logs an object it cannot serialise by its own text', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(logSafe(cyclic)).toBe('[object Object]');
  });
});

it('prints an object nested too deep to stringify as its kind, instead of throwing', () => {
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 100_000; i++) deep = { deep };
  expect(logSafe(deep)).toBe('[object Object]');
});
