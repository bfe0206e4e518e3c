import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import { adjustContrast, randomContrast, randomFactor } from '../../src/image/adjust-contrast.js';
import type { Image, Random } from '../../src/image/image.js';
import {
  ALL_LEVELS,
  errorOf,
  expectOneUniformDraw,
  expectReproducible,
  expectRngRejected,
  expectUniformDraws,
  f32,
  imageArb,
  maxAbsDiff,
  u8,
  useTfCpu,
} from '../helpers/image.js';

/** Float images with values in [0, 1]. */
const unitImage = imageArb({
  maxSide: 7,
  channels: fc.integer({ min: 1, max: 4 }),
  dtypes: ['float32'],
  min: 0,
  max: 1,
});

/** Per-channel float64 means of an HWC image. */
function channelMeans(image: Image): number[] {
  const channels = image.shape[2];
  const pixels = image.data.length / channels;
  const sums = new Array(channels).fill(0);
  for (let i = 0; i < image.data.length; i++) sums[i % channels] += image.data[i];
  return sums.map((s) => s / pixels);
}

useTfCpu();

describe('adjustContrast on float32 images', () => {
  it('scales each value around its channel mean, without clipping', () => {
    // mean = (0 + 1 + 2 + 5)/4 = 2; (x − 2)·2 + 2.
    const out = adjustContrast(f32([2, 2, 1], [0, 1, 2, 5]), 2);
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([2, 2, 1]);
    expect(Array.from(out.data)).toEqual([-2, 0, 2, 8]);
  });

  it('uses one mean per channel', () => {
    // Channel 0: 1, 3 (mean 2); channel 1: 10, 30 (mean 20). Factor 0.5.
    const out = adjustContrast(f32([1, 2, 2], [1, 10, 3, 30]), 0.5);
    expect(Array.from(out.data)).toEqual([1.5, 15, 2.5, 25]);
  });

  it('sums channel values by halving folds in float32, as the TF CPU kernel does', () => {
    // 5 pixels: fold 1 pairs (3,0) and (4,1) and carries 2: [1 + 1e8, 1 + 1, −1e8] = [1e8, 2, −1e8]
    // in float32; fold 2 adds pixel 2 onto 0: [0, 2]; fold 3: 2. The exact sum would be 3.
    // mean = 2·f32(1/5); factor 0 sets every value to the mean.
    const out = adjustContrast(f32([1, 5, 1], [1e8, 1, -1e8, 1, 1]), 0);
    const mean = Math.fround(2 * Math.fround(1 / 5));
    expect(Array.from(out.data)).toEqual([mean, mean, mean, mean, mean]);
    // Here a left-to-right float32 sum would give 0 + 1 + 1 + 1 = 3, the folds give
    // [1 + 1e8, 1 − 1e8, 1] = [1e8, −1e8, 1] → [1e8 + 1, −1e8] = [1e8, −1e8] → 0.
    expect(Array.from(adjustContrast(f32([1, 5, 1], [1e8, -1e8, 1, 1, 1]), 0).data)).toEqual([0, 0, 0, 0, 0]);
  });

  it('matches tfjs (mean over H, W; (x − mean)·f + mean) within 1e-4', () => {
    fc.assert(
      fc.property(unitImage, fc.double({ min: -3, max: 3, noNaN: true }), (image, factor) => {
        const [h, w, c] = image.shape;
        const expected = tf.tidy(() => {
          const x = tf.tensor3d(image.data, [h, w, c], 'float32');
          const mean = tf.mean(x, [0, 1], true);
          return tf.add(tf.mul(tf.sub(x, mean), tf.scalar(factor)), mean).dataSync();
        });
        const out = adjustContrast(image, factor).data;
        for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThan(1e-4);
      }),
      { numRuns: 60 },
    );
  });

  it('is the identity for factor 1 within 1e-5 (property)', () => {
    fc.assert(
      fc.property(unitImage, (image) => {
        expect(maxAbsDiff(adjustContrast(image, 1).data, image.data)).toBeLessThanOrEqual(1e-5);
      }),
    );
  });

  it('keeps every channel mean and sets every value to it for factor 0 (property)', () => {
    fc.assert(
      fc.property(unitImage, fc.double({ min: 0, max: 4, noNaN: true }), (image, factor) => {
        const before = channelMeans(image);
        const after = channelMeans(adjustContrast(image, factor));
        for (let c = 0; c < before.length; c++) expect(Math.abs(after[c] - before[c])).toBeLessThan(1e-5);
        const flat = adjustContrast(image, 0).data;
        for (let i = 0; i < flat.length; i++) {
          expect(Math.abs(flat[i] - before[i % before.length])).toBeLessThan(1e-5);
        }
      }),
    );
  });
});

describe('adjustContrast on uint8 images', () => {
  it('works on [0, 1] floats and saturates on the way back', () => {
    // [0, 255] → [0, 1], mean 0.5. Factor 0.5: [0.25, 0.75]·255.5 → [63.9, 191.6] → [63, 191].
    expect(Array.from(adjustContrast(u8([1, 2, 1], [0, 255]), 0.5).data)).toEqual([63, 191]);
    // Factor 2: [−0.5, 1.5] saturates to [0, 255].
    expect(Array.from(adjustContrast(u8([1, 2, 1], [0, 255]), 2).data)).toEqual([0, 255]);
    // Factor −1 swaps the two levels around the mean.
    expect(Array.from(adjustContrast(u8([1, 2, 1], [55, 200]), -1).data)).toEqual([200, 55]);
  });

  it('is the identity for factor 1 on every level', () => {
    const out = adjustContrast(u8([16, 16, 1], ALL_LEVELS), 1);
    expect(out.dtype).toBe('uint8');
    expect(Array.from(out.data)).toEqual(ALL_LEVELS);
  });
});

describe('adjustContrast edge cases', () => {
  it('leaves a 1x1 image unchanged for any factor', () => {
    expect(Array.from(adjustContrast(f32([1, 1, 4], [0.1, 5, -2, 0]), 3).data)).toEqual(
      Array.from(Float32Array.from([0.1, 5, -2, 0])),
    );
    expect(Array.from(adjustContrast(u8([1, 1, 3], [0, 77, 255]), 3).data)).toEqual([0, 77, 255]);
  });

  it('handles empty images and never mutates its input', () => {
    expect(adjustContrast(f32([0, 4, 3], []), 2).data.length).toBe(0);
    expect(adjustContrast(u8([3, 0, 3], []), 2).shape).toEqual([3, 0, 3]);
    const image = f32([1, 3, 1], [0, 1, 2]);
    adjustContrast(image, 3);
    expect(Array.from(image.data)).toEqual([0, 1, 2]);
  });
});

describe('randomContrast', () => {
  it('draws one factor in [lower, upper) per image and applies adjustContrast with it', () => {
    const image = u8([2, 3, 3], [0, 10, 50, 100, 150, 200, 250, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
    const random = (rng: Random) => randomContrast(image, 0.2, 1.8, rng);
    expectOneUniformDraw(21, [0.2, 1.8], random, (factor) => adjustContrast(image, factor));
  });

  it('gives the same result for the same seed', () => {
    const image = f32([2, 2, 1], [0.1, 0.2, 0.3, 0.9]);
    expectReproducible(8, (rng) => randomContrast(image, 0.5, 1.5, rng));
  });

  it('draws factors uniformly from [lower, upper)', () => {
    // For the pixels [0, 1] (mean 0.5) the output is [0.5 − f/2, 0.5 + f/2], so f = out[1] − out[0].
    const [lower, upper] = [0.3, 1.7];
    const n = 4000;
    const rng = new CounterRng(77, 'test');
    const image = f32([1, 2, 1], [0, 1]);
    const factors = Array.from({ length: n }, () => {
      const out = randomContrast(image, lower, upper, rng).data;
      return out[1] - out[0];
    });
    // Mean (lower + upper)/2 = 1, standard error (upper − lower)/√(12n) ≈ 0.0064.
    expectUniformDraws(factors, lower, upper, { slack: 1e-6, meanTolerance: 0.04 });
  });
});

describe('contrast errors', () => {
  const image = f32([1, 1, 1], [0]);
  const rng = new CounterRng(1, 'test');

  it('rejects a non-finite or non-number factor', () => {
    for (const factor of [Number.NaN, -Infinity, null as unknown as number]) {
      expect(() => adjustContrast(image, factor)).toThrow(InvalidArgumentError);
      expect(() => adjustContrast(image, factor)).toThrow(
        /^adjustContrast: Expected a finite number for factor/,
      );
    }
  });

  it('rejects upper <= lower, naming upper (TF: "upper must be > lower.")', () => {
    expect(() => randomContrast(image, 0.5, 0.5, rng)).toThrow(
      'randomContrast: Expected a finite number > lower (0.5) for upper but received 0.5',
    );
    expect(() => randomContrast(image, 0.5, 0.2, rng)).toThrow(/for upper but received 0.2$/);
    const error = errorOf(() => randomContrast(image, 0.5, 0.2, rng));
    expect(error.parameter).toBe('upper');
    expect(error.stage).toBe('randomContrast');
  });

  it('rejects a negative lower (TF: "lower must be non-negative.")', () => {
    expect(() => randomContrast(image, -0.1, 1, rng)).toThrow(
      'randomContrast: Expected a non-negative number for lower but received -0.1',
    );
  });

  it('rejects non-finite or non-number bounds', () => {
    expect(() => randomContrast(image, Number.NaN, 1, rng)).toThrow(/Expected a finite number for lower/);
    expect(() => randomContrast(image, 0, Infinity, rng)).toThrow(/for upper but received Infinity/);
    expect(() => randomContrast(image, 0, '1' as unknown as number, rng)).toThrow(/for upper/);
  });

  it('checks upper before lower, as TF does', () => {
    expect(() => randomContrast(image, -1, -2, rng)).toThrow(/for upper/);
  });

  it('randomFactor reports the op it validates for', () => {
    expect(() => randomFactor('randomSaturation', 2, 1, rng)).toThrow(/^randomSaturation: /);
  });

  it('rejects a non-image', () => {
    const notImage = { dtype: 'uint8', shape: [4], data: new Uint8Array(4) } as unknown as Image;
    expect(() => adjustContrast(notImage, 1)).toThrow(/^adjustContrast: Expected a uint8 or float32 image/);
    expect(() => randomContrast(notImage, 0, 1, rng)).toThrow(
      /^randomContrast: Expected a uint8 or float32 image/,
    );
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomContrast', (rng) => randomContrast(image, 0.5, 1.5, rng));
  });
});
