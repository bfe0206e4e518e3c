import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { cifar10LearningRate, exponentialDecay } from '../../src/train/learning-rate.js';
import { thrownBy } from '../helpers/files.js';

describe('exponentialDecay', () => {
  it('decays continuously as initial * rate ^ (step / decaySteps)', () => {
    const lr = exponentialDecay({ initial: 0.1, decaySteps: 1000, decayRate: 0.96 });
    expect(lr(0)).toBe(0.1);
    expect(lr(1000)).toBeCloseTo(0.096, 15);
    expect(lr(2000)).toBeCloseTo(0.1 * 0.96 * 0.96, 15);
    expect(lr(500)).toBeCloseTo(0.1 * Math.sqrt(0.96), 15);
    expect(lr(1)).toBeLessThan(0.1);
  });

  it('decays in whole periods with staircase', () => {
    const lr = exponentialDecay({ initial: 2, decaySteps: 10, decayRate: 0.5, staircase: true });
    expect([0, 9, 10, 19, 20, 29.5, 30].map(lr)).toEqual([2, 2, 1, 1, 0.5, 0.5, 0.25]);
  });

  it('grows when decayRate > 1, as TF allows', () => {
    const lr = exponentialDecay({ initial: 1, decaySteps: 1, decayRate: 2 });
    expect(lr(3)).toBe(8);
  });

  it('property: monotone in the step, and the staircase never below the curve', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 10, noNaN: true }),
        fc.double({ min: 0.5, max: 1e5, noNaN: true }),
        fc.double({ min: 0.01, max: 0.999, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (initial, decaySteps, decayRate, a, b) => {
          const smooth = exponentialDecay({ initial, decaySteps, decayRate });
          const stairs = exponentialDecay({ initial, decaySteps, decayRate, staircase: true });
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(smooth(hi)).toBeLessThanOrEqual(smooth(lo));
          expect(stairs(hi)).toBeLessThanOrEqual(stairs(lo));
          expect(stairs(lo)).toBeGreaterThanOrEqual(smooth(lo));
        },
      ),
    );
  });

  it('property: the staircase is constant within a decay period and steps down at its end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 99_999 }),
        fc.double({ min: 0.01, max: 0.999, noNaN: true }),
        (decaySteps, period, offset, decayRate) => {
          const stairs = exponentialDecay({ initial: 1, decaySteps, decayRate, staircase: true });
          const start = period * decaySteps;
          const level = decayRate ** period;
          expect(stairs(start)).toBe(level);
          expect(stairs(start + (offset % decaySteps))).toBe(level);
          expect(stairs(start + decaySteps) / (level * decayRate)).toBeCloseTo(1, 12);
        },
      ),
    );
  });

  it('rejects bad options and steps', () => {
    const base = { initial: 0.1, decaySteps: 10, decayRate: 0.5 };
    const cases: [unknown, RegExp][] = [
      [undefined, /Expected a positive finite number for initial but received undefined/],
      [7, /Expected an options object for options/],
      [{ ...base, initial: 0 }, /for initial but received 0/],
      [{ ...base, initial: Number.NaN }, /for initial but received NaN/],
      [{ ...base, decaySteps: -5 }, /Expected a positive finite number for decaySteps but received -5/],
      [{ ...base, decaySteps: Number.POSITIVE_INFINITY }, /for decaySteps but received Infinity/],
      [{ ...base, decayRate: '0.5' }, /for decayRate but received "0.5"/],
      [{ ...base, staircase: 1 }, /Expected a boolean for staircase but received 1/],
    ];
    for (const [options, message] of cases) {
      const err = thrownBy(() => exponentialDecay(options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^exponentialDecay: /);
      expect(err.message).toMatch(message);
    }
    const lr = exponentialDecay(base);
    for (const step of [-1, Number.NaN, Number.POSITIVE_INFINITY, '3']) {
      const err = thrownBy(() => lr(step as number));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^exponentialDecay: Expected a non-negative finite number for step/);
    }
  });
});

describe('cifar10LearningRate', () => {
  it("is the tutorial's schedule: 0.1, divided by 10 every int(50000 / batch * 350) steps", () => {
    const lr = cifar10LearningRate({ batchSize: 128 });
    // int(390.625 * 350) = 136718
    expect(lr(0)).toBe(0.1);
    expect(lr(136_717)).toBe(0.1);
    expect(lr(136_718)).toBeCloseTo(0.01, 15);
    expect(lr(273_435)).toBeCloseTo(0.01, 15);
    expect(lr(273_436)).toBeCloseTo(0.001, 15);
  });

  it('scales the period with examplesPerEpoch', () => {
    const lr = cifar10LearningRate({ batchSize: 100, examplesPerEpoch: 1000 });
    // 10 batches per epoch * 350 = 3500 steps per decay
    expect(lr(3499)).toBe(0.1);
    expect(lr(3500)).toBeCloseTo(0.01, 15);
  });

  it('rejects bad options', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /Expected a positive integer for batchSize but received undefined/],
      [{ batchSize: 0 }, /for batchSize but received 0/],
      [{ batchSize: 1.5 }, /for batchSize but received 1.5/],
      [{ batchSize: 32, examplesPerEpoch: 0 }, /Expected a positive integer for examplesPerEpoch/],
      [{ batchSize: 400, examplesPerEpoch: 1 }, /Expected at most 350 .* for batchSize but received 400/],
      ['fast', /Expected an options object for options/],
    ];
    for (const [options, message] of cases) {
      const err = thrownBy(() => cifar10LearningRate(options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^cifar10LearningRate: /);
      expect(err.message).toMatch(message);
    }
  });
});
