import { describe, expect, it } from 'vitest';
import { describeTermination } from '../../shared/calls/termination.js';

describe('describeTermination', () => {
  it('reports 408/8537 as an error: Graph dropped the call for a missing keepAlive', () => {
    expect(describeTermination('c1', { code: 408, subcode: 8537, message: 'inactive' })).toEqual({
      level: 'error',
      message: 'Call c1 was dropped by Graph for a missing keepAlive (resultInfo 408/8537: inactive)',
      keepAliveTimeout: true,
    });
  });

  it.each([
    [{ code: 200, subcode: 5001, message: 'bye' }, 'info', 'Call c1 ended (resultInfo 200/5001: bye)'],
    [{ code: 410, subcode: 301005 }, 'warn', 'Call c1 ended (resultInfo 410/301005)'],
    [{ code: 408, subcode: 1 }, 'warn', 'Call c1 ended (resultInfo 408/1)'],
    [undefined, 'info', 'Call c1 ended (resultInfo -/-)'],
  ])('reports %o at level %s', (resultInfo, level, message) => {
    expect(describeTermination('c1', resultInfo)).toEqual({ level, message, keepAliveTimeout: false });
  });
});
