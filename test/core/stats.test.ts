import { describe, expect, it } from 'vitest';
import { StageCounters } from '../../src/core/stats.js';

describe('StageCounters', () => {
  it('freezes the rate once done', async () => {
    const c = new StageCounters('s', 10);
    c.start();
    c.elementsOut = 100;
    await new Promise((r) => setTimeout(r, 20));
    c.done = true;
    const rate = c.snapshot().elementsPerSecond;
    await new Promise((r) => setTimeout(r, 30));
    expect(c.snapshot().elementsPerSecond).toBe(rate);
    expect(c.snapshot().size).toBe(0);
  });

  it('reports size over capacity, or a custom fraction', () => {
    const c = new StageCounters('s', 10);
    c.size = 4;
    expect(c.snapshot().fractionFull).toBeCloseTo(0.4);
    const shuffle = new StageCounters('q', 10, (size) => Math.max(0, size - 6) / 4);
    shuffle.size = 8;
    expect(shuffle.snapshot().fractionFull).toBeCloseTo(0.5);
  });
});
