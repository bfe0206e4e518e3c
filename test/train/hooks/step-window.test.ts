import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StepWindow } from '../../../src/train/hooks/step-window.js';
import type { StepInfo } from '../../../src/train/hooks/types.js';

const info = (
  step: number,
  loss: number,
  examples: number,
  waitSeconds: number,
  stepSeconds: number,
): StepInfo => ({
  step,
  loss,
  metrics: {},
  examples,
  waitSeconds,
  stepSeconds,
});

describe('StepWindow', () => {
  it('sums examples and timings, averages the loss and divides by the wall clock', () => {
    let now = 1000;
    const w = new StepWindow(() => now);
    w.add(info(1, 2, 10, 0.1, 0.3));
    w.add(info(2, 4, 30, 0.3, 0.3));
    now += 2000;
    expect(w.stats()).toEqual({
      step: 2,
      steps: 2,
      examples: 40,
      loss: 3,
      seconds: 2,
      examplesPerSecond: 20,
      secondsPerBatch: 1,
      waitSeconds: expect.closeTo(0.4, 12),
      stepSeconds: 0.6,
      inputBoundFraction: expect.closeTo(0.4, 12),
    });
  });

  it('starts afresh after take(), from the time of the take', () => {
    let now = 0;
    const w = new StepWindow(() => now);
    w.add(info(1, 1, 1, 0, 1));
    now = 500;
    expect(w.take()?.steps).toBe(1);
    expect(w.size).toBe(0);
    expect(w.stats()).toBeUndefined();
    w.add(info(2, 5, 4, 0, 1));
    now = 1500;
    expect(w.take()).toMatchObject({ step: 2, steps: 1, loss: 5, seconds: 1, examplesPerSecond: 4 });
  });

  it('reports 0 rather than NaN when nothing was timed', () => {
    const w = new StepWindow(() => 0);
    w.add(info(1, 1, 8, 0, 0));
    expect(w.stats()).toMatchObject({ examplesPerSecond: 0, secondsPerBatch: 0, inputBoundFraction: 0 });
  });

  it('carries a NaN loss into the mean', () => {
    const w = new StepWindow();
    w.add(info(1, 1, 1, 0, 0));
    w.add(info(2, Number.NaN, 1, 0, 0));
    expect(w.stats()?.loss).toBeNaN();
  });

  it('property: the input-bound fraction is in [0, 1] and is wait / (wait + step)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.double({ min: 0, max: 10, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true })),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (timings) => {
          const w = new StepWindow();
          timings.forEach(([wait, step], i) => void w.add(info(i + 1, 0, 1, wait, step)));
          const stats = w.stats()!;
          const wait = timings.reduce((s, [x]) => s + x, 0);
          const step = timings.reduce((s, [, x]) => s + x, 0);
          expect(stats.inputBoundFraction).toBeGreaterThanOrEqual(0);
          expect(stats.inputBoundFraction).toBeLessThanOrEqual(1);
          expect(stats.inputBoundFraction).toBeCloseTo(wait + step > 0 ? wait / (wait + step) : 0, 9);
        },
      ),
    );
  });
});
