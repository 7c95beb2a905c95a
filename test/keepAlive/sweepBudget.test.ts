import { describe, expect, it } from 'vitest';
import { budgetLeftMs } from '../../shared/keepAlive/sweepBudget.js';

const startedAt = new Date('2026-11-24T10:00:00Z');
const after = (ms: number) => new Date(startedAt.getTime() + ms);

describe('budgetLeftMs', () => {
  it('is the budget less the time since it began', () => {
    expect(budgetLeftMs(180_000, startedAt, after(30_000))).toBe(150_000);
  });

  it('is never more than the whole budget: a clock set back does not lengthen it', () => {
    expect(budgetLeftMs(180_000, startedAt, after(-60_000))).toBe(180_000);
  });

  it('is nothing once the budget has passed', () => {
    expect(budgetLeftMs(180_000, startedAt, after(200_000))).toBe(0);
  });
});
