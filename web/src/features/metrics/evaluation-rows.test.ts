import { describe, expect, it } from 'vitest';
import { median } from './evaluation-rows.js';

describe('median', () => {
  it('skips runs that measured nothing', () => {
    expect(median([30, null, 10, 20])).toBe(20);
  });

  it('averages the middle pair of an even count', () => {
    expect(median([10, 40, 20, 30])).toBe(25);
  });

  it('is null when no run measured a value', () => {
    expect(median([null, null])).toBeNull();
    expect(median([])).toBeNull();
  });
});
