import { describe, expect, it } from 'vitest';
import {
  boundedJson,
  boundedString,
  MAX_STORED_JSON_CHARS,
  MAX_STORED_JSON_DEPTH,
  MAX_STORED_STRING_CHARS,
} from '../../shared/notifications/boundedJson.js';

/** An object `depth` levels deep, through objects or arrays. */
function nested(depth: number, through: 'object' | 'array' = 'object'): Record<string, unknown> {
  let value: unknown = 1;
  for (let level = 1; level < depth; level++) value = through === 'object' ? { a: value } : [value];
  return { a: value };
}

describe('boundedJson', () => {
  it('keeps a real participantInfo as it is', () => {
    const source = {
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: { user: { displayName: 'Test User', id: '8A34A46B-3D17-4ADC-8DCE-DC4E7D572698' } },
      region: 'westus',
    };
    expect(boundedJson(source)).toEqual({ ok: true, value: source });
  });

  it.each([
    ['objects', 'object'],
    ['arrays', 'array'],
  ] as const)('keeps %s exactly at the depth limit and drops one level more', (_name, through) => {
    expect(boundedJson(nested(MAX_STORED_JSON_DEPTH, through)).ok).toBe(true);
    expect(boundedJson(nested(MAX_STORED_JSON_DEPTH + 1, through))).toEqual({
      ok: false,
      why: `nested deeper than ${MAX_STORED_JSON_DEPTH} levels`,
    });
  });

  it('drops a value nested 100,000 levels deep without overflowing the stack', () => {
    expect(boundedJson(nested(100_000)).ok).toBe(false);
  });

  it('keeps a value whose JSON fits a Table Storage property and drops a larger one', () => {
    const overhead = JSON.stringify({ token: '' }).length;
    expect(boundedJson({ token: 'x'.repeat(MAX_STORED_JSON_CHARS - overhead) }).ok).toBe(true);
    expect(boundedJson({ token: 'x'.repeat(MAX_STORED_JSON_CHARS - overhead + 1) })).toEqual({
      ok: false,
      why: `${MAX_STORED_JSON_CHARS + 1} characters as JSON, over ${MAX_STORED_JSON_CHARS}`,
    });
  });

  it('bounds every stored JSON column together well under the 1 MiB entity limit', () => {
    // A string property holds 64 KiB of UTF-16; four JSON columns at the bound, two bytes a character.
    expect(MAX_STORED_JSON_CHARS * 2).toBeLessThanOrEqual(64 * 1024);
    expect(4 * MAX_STORED_JSON_CHARS * 2).toBeLessThan(1024 * 1024);
  });
});

describe('boundedString', () => {
  it('keeps a tenant id and drops a string too long to be one', () => {
    expect(boundedString('72f988bf-86f1-41af-91ab-2d7cd011db47')).toEqual({ ok: true, value: '72f988bf-86f1-41af-91ab-2d7cd011db47' });
    expect(boundedString('t'.repeat(MAX_STORED_STRING_CHARS + 1)).ok).toBe(false);
  });
});
