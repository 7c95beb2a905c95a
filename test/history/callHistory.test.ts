import { expect, it } from 'vitest';
import { historyRecordOf } from '../../shared/history/callHistory.js';
import { MAX_TONES } from '../../shared/media/tones.js';

it('keeps no more key presses in a record than a row may hold, whoever wrote the row', () => {
  const at = new Date('2026-11-24T10:00:00Z');
  const tones = Array.from({ length: MAX_TONES + 20 }, (_, i) => ({ tone: String(i % 10), sequenceId: i, at: at.toISOString() }));
  const record = historyRecordOf(
    { callId: 'c1', state: 'established', createdAt: at, keepAliveFailures: 0, tones } as Parameters<typeof historyRecordOf>[0],
    { endedAt: at, resultInfo: undefined, endedBy: 'notification' },
  );
  expect(record.tones).toHaveLength(MAX_TONES);
  expect(record.tones.slice(0, 3)).toEqual(['0', '1', '2']);
});
