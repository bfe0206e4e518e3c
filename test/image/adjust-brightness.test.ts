import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import { adjustBrightness, randomBrightness } from '../../src/image/adjust-brightness.js';
import type { Image, Random } from '../../src/image/image.js';
import {
  ALL_LEVELS,
  expectOneUniformDraw,
  expectReproducible,
  expectRngRejected,
  expectUniformDraws,
  f32,
  imageArb,
  u8,
} from '../helpers/image.js';

const shape = { maxSide: 5, channels: fc.integer({ min: 1, max: 4 }) };
const floatImage = imageArb({ ...shape, dtypes: ['float32'], min: -1000, max: 1000 });
const uint8Image = imageArb({ ...shape, dtypes: ['uint8'] });

describe('adjustBrightness on float32 images', () => {
  it('adds delta without clipping, whatever the range', () => {
    const out = adjustBrightness(f32([1, 4, 1], [0.5, -3, 300, 0.9]), 0.25);
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([1, 4, 1]);
    expect(Array.from(out.data)).toEqual([0.75, -2.75, 300.25, Math.fround(Math.fround(0.9) + 0.25)]);
    expect(out.data[3]).toBeGreaterThan(1);
  });

  it('adds delta rounded to float32', () => {
    const out = adjustBrightness(f32([1, 1, 1], [0]), 0.1);
    expect(out.data[0]).toBe(Math.fround(0.1));
  });

  it('is exactly x + f32(delta) in float32 for every value (property)', () => {
    fc.assert(
      fc.property(floatImage, fc.double({ min: -10, max: 10, noNaN: true }), (image, delta) => {
        const out = adjustBrightness(image, delta);
        const d = Math.fround(delta);
        for (let i = 0; i < image.data.length; i++) expect(out.data[i]).toBe(Math.fround(image.data[i] + d));
      }),
    );
  });

  it('is the identity for delta 0, up to the sign of zero (property)', () => {
    // −0 + 0 is +0 in IEEE arithmetic (and in TF); `+ 0` makes the comparison ignore that sign.
    const unsigned = (data: Float32Array) => Array.from(data, (x) => x + 0);
    fc.assert(
      fc.property(floatImage, (image) => {
        expect(unsigned(adjustBrightness(image, 0).data)).toEqual(unsigned(image.data));
      }),
    );
  });
});

describe('adjustBrightness on uint8 images', () => {
  it('works in [0, 1] units and saturates: trunc(clamp((x/255 + delta)·255.5, 0, 255))', () => {
    // (100/255 + 0.1)·255.5 = 125.75 → 125; (0 + 0.1)·255.5 = 25.55 → 25;
    // (10/255 + 0.1)·255.5 = 35.57 → 35; 255 + anything positive saturates.
    const out = adjustBrightness(u8([2, 2, 1], [100, 0, 10, 255]), 0.1);
    expect(out.dtype).toBe('uint8');
    expect(Array.from(out.data)).toEqual([125, 25, 35, 255]);
    // (10/255 − 0.1)·255.5 < 0 → 0; (200/255 − 0.1)·255.5 = 174.9 → 174.
    expect(Array.from(adjustBrightness(u8([1, 2, 1], [10, 200]), -0.1).data)).toEqual([0, 174]);
  });

  it('saturates everything for |delta| >= 1', () => {
    expect(new Set(adjustBrightness(u8([1, 256, 1], ALL_LEVELS), 1).data)).toEqual(new Set([255]));
    expect(new Set(adjustBrightness(u8([1, 256, 1], ALL_LEVELS), -1).data)).toEqual(new Set([0]));
  });

  it('is the identity for delta 0 on every level', () => {
    expect(Array.from(adjustBrightness(u8([16, 16, 1], ALL_LEVELS), 0).data)).toEqual(ALL_LEVELS);
  });

  it('is monotone in the pixel and in delta (property)', () => {
    fc.assert(
      fc.property(
        uint8Image,
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        (image, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const low = adjustBrightness(image, lo).data;
          const high = adjustBrightness(image, hi).data;
          for (let i = 0; i < image.data.length; i++) expect(low[i]).toBeLessThanOrEqual(high[i]);
        },
      ),
    );
  });
});

describe('adjustBrightness edge cases', () => {
  it('handles 1x1, 4-channel and empty images and never mutates its input', () => {
    const image = f32([1, 1, 4], [0, 0.25, 0.5, 1]);
    const out = adjustBrightness(image, -0.5);
    expect(out.shape).toEqual([1, 1, 4]);
    expect(Array.from(out.data)).toEqual([-0.5, -0.25, 0, 0.5]);
    expect(Array.from(image.data)).toEqual([0, 0.25, 0.5, 1]);
    expect(adjustBrightness(u8([0, 2, 3], []), 0.5).data.length).toBe(0);
  });
});

describe('randomBrightness', () => {
  it('draws exactly one float32 uniform per image and applies adjustBrightness with it', () => {
    const image = u8([3, 2, 3], [0, 10, 50, 100, 150, 200, 250, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
    const random = (rng: Random) => randomBrightness(image, 0.3, rng);
    expectOneUniformDraw(11, [-0.3, 0.3], random, (delta) => adjustBrightness(image, delta));
  });

  it('shifts every pixel of an image by the same delta', () => {
    const out = randomBrightness(f32([4, 4, 3], new Array(48).fill(0)), 0.5, new CounterRng(3, 'test'));
    expect(new Set(out.data).size).toBe(1);
    expect(out.data[0]).not.toBe(0);
  });

  it('gives the same result for the same seed and different results across draws', () => {
    const image = f32([2, 2, 1], [0.1, 0.2, 0.3, 0.4]);
    expectReproducible(5, (rng) => randomBrightness(image, 0.2, rng));
    const rng = new CounterRng(5, 'test');
    const first = randomBrightness(image, 0.2, rng);
    const second = randomBrightness(image, 0.2, rng);
    expect(Array.from(first.data)).not.toEqual(Array.from(second.data));
  });

  it('draws delta uniformly from [-maxDelta, maxDelta)', () => {
    const maxDelta = 0.4;
    const n = 4000;
    const rng = new CounterRng(2024, 'test');
    const image = f32([1, 1, 1], [0]);
    const deltas = Array.from({ length: n }, () => randomBrightness(image, maxDelta, rng).data[0]);
    // Within ±f32(maxDelta) exactly; uniform on [-m, m): mean 0 (standard error m/√(3n) ≈ 0.0037).
    const slack = Math.fround(maxDelta) - maxDelta;
    expectUniformDraws(deltas, -maxDelta, maxDelta, { slack, meanTolerance: 0.025 });
    // Variance m²/3.
    const sumOfSquares = deltas.reduce((acc, d) => acc + d * d, 0);
    expect(sumOfSquares / n).toBeGreaterThan((0.9 * (maxDelta * maxDelta)) / 3);
    expect(sumOfSquares / n).toBeLessThan((1.1 * (maxDelta * maxDelta)) / 3);
  });

  it('is the identity for maxDelta 0', () => {
    const image = u8([1, 3, 1], [0, 128, 255]);
    expect(Array.from(randomBrightness(image, 0, new CounterRng(1, 'test')).data)).toEqual([0, 128, 255]);
  });

  it('saturates a uint8 image to one level with a huge maxDelta (TF: max_delta=63)', () => {
    const out = randomBrightness(u8([1, 256, 1], ALL_LEVELS), 63, new CounterRng(9, 'test'));
    const levels = new Set(out.data);
    expect(levels.size).toBe(1);
    expect([0, 255]).toContain(out.data[0]);
  });
});

describe('brightness errors', () => {
  const image = f32([1, 1, 1], [0]);

  it('rejects a non-finite or non-number delta', () => {
    for (const delta of [Number.NaN, Infinity, '0.1' as unknown as number]) {
      const bad = () => adjustBrightness(image, delta);
      expect(bad).toThrow(InvalidArgumentError);
      expect(bad).toThrow(/^adjustBrightness: Expected a finite number for delta but received/);
    }
  });

  it('rejects a negative, non-finite or non-number maxDelta', () => {
    const rng = new CounterRng(1, 'test');
    expect(() => randomBrightness(image, -0.1, rng)).toThrow(
      'randomBrightness: Expected a non-negative finite number for maxDelta but received -0.1',
    );
    for (const maxDelta of [Number.NaN, Infinity, undefined as unknown as number]) {
      expect(() => randomBrightness(image, maxDelta, rng)).toThrow(InvalidArgumentError);
    }
  });

  it('rejects a non-image', () => {
    const rng = new CounterRng(1, 'test');
    const notImage = { dtype: 'int32', shape: [1, 1, 1], data: new Int32Array(1) } as unknown as Image;
    expect(() => adjustBrightness(notImage, 0.1)).toThrow(
      /^adjustBrightness: Expected a uint8 or float32 image/,
    );
    expect(() => randomBrightness(notImage, 0.1, rng)).toThrow(
      /^randomBrightness: Expected a uint8 or float32 image/,
    );
    const wrongLength = { dtype: 'uint8', shape: [2, 2, 1], data: new Uint8Array(3) } as Image;
    expect(() => adjustBrightness(wrongLength, 0.1)).toThrow(/Expected data of length 4/);
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomBrightness', (rng) => randomBrightness(image, 0.1, rng));
  });
});
