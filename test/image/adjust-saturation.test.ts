import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../../src/core/rng.js';
import { adjustSaturation, randomSaturation } from '../../src/image/adjust-saturation.js';
import type { Image, Random } from '../../src/image/image.js';
import {
  expectOneUniformDraw,
  expectReproducible,
  expectRgbRequired,
  expectRngRejected,
  expectUniformDraws,
  f32,
  maxAbsDiff,
  pixel,
  rgbImageArb,
  u8,
} from '../helpers/image.js';

/** RGB float images with values in [0, 1] (min, max and values near them included). */
const unitImage = rgbImageArb('float32', { min: 0, max: 1 });
/** RGB float images with any finite values, subnormals and huge ones included. */
const anyFiniteImage = rgbImageArb('float32');

/** HSV saturation (max − min)/max of the pixel at `i`, in float64. */
function saturationAt(data: ArrayLike<number>, i: number): number {
  const max = Math.max(data[i], data[i + 1], data[i + 2]);
  const min = Math.min(data[i], data[i + 1], data[i + 2]);
  return max > 0 ? (max - min) / max : 0;
}

describe('adjustSaturation on float32 images', () => {
  it('scales HSV saturation: (1, 0.5, 0) with factor 0.5 gives (1, 0.75, 0.5)', () => {
    // v = 1, s = 1, h = 0.5/6. s' = 0.5 → c = 0.5, m = 0.5, 6h = 0.5 (sector 0), X = 0.5·(1 − 0.5) = 0.25:
    // (c + m, X + m, m).
    const out = adjustSaturation(pixel(1, 0.5, 0), 0.5);
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([1, 1, 3]);
    expect(Array.from(out.data)).toEqual([1, 0.75, 0.5]);
  });

  it('clamps the new saturation to 1: (0.5, 0.25, 0.25) with factor 2 gives (0.5, 0, 0)', () => {
    // s = 0.5 → s' = 1, h = 0; c = 0.5, m = 0, X = 0.
    expect(Array.from(adjustSaturation(pixel(0.5, 0.25, 0.25), 2).data)).toEqual([0.5, 0, 0]);
    // Already fully saturated colours do not change however large the factor.
    expect(Array.from(adjustSaturation(pixel(1, 0.5, 0), 10).data)).toEqual([1, 0.5, 0]);
  });

  it('turns every pixel to the grey of its max for factor 0', () => {
    const out = adjustSaturation(f32([1, 3, 3], [1, 0.5, 0, 0.2, 0.9, 0.4, 0.3, 0.1, 0.6]), 0);
    expect(Array.from(out.data)).toEqual(
      Array.from(Float32Array.from([1, 1, 1, 0.9, 0.9, 0.9, 0.6, 0.6, 0.6])),
    );
  });

  it('keeps a hue just below a full turn (TF turns such pixels grey: deliberate difference)', () => {
    // g − b = −6e-8 makes h = −2e-8, and h + 1 rounds to exactly 1 in float32, which TF maps to grey.
    const b = Math.fround(0.5 + 2 ** -24);
    const out = adjustSaturation(pixel(1, 0.5, b), 1).data;
    expect(out[0]).toBe(1);
    expect(Math.abs(out[1] - 0.5)).toBeLessThan(1e-6);
    expect(Math.abs(out[2] - b)).toBeLessThan(1e-6);
  });

  it('keeps hue in every sector (each pixel is the identity at factor 1)', () => {
    // One pixel per hue sector 0..5 plus black, white and grey.
    const values = [
      [0.9, 0.3, 0.1],
      [0.5, 0.9, 0.1],
      [0.1, 0.9, 0.4],
      [0.1, 0.4, 0.9],
      [0.6, 0.1, 0.9],
      [0.9, 0.1, 0.5],
      [0, 0, 0],
      [1, 1, 1],
      [0.4, 0.4, 0.4],
    ].flat();
    const out = adjustSaturation(f32([3, 3, 3], values), 1).data;
    values.forEach((v, i) => {
      expect(Math.abs(out[i] - v)).toBeLessThan(1e-6);
    });
  });

  it('works on [0, 255] floats without clipping (ratios only)', () => {
    const out = adjustSaturation(pixel(255, 127.5, 0), 0.5);
    expect(Array.from(out.data)).toEqual([255, 191.25, 127.5]);
  });

  it('is the identity for factor 1 within 1e-4 on [0, 1] images (property)', () => {
    fc.assert(
      fc.property(unitImage, (image) => {
        expect(maxAbsDiff(adjustSaturation(image, 1).data, image.data)).toBeLessThanOrEqual(1e-4);
      }),
    );
  });

  it('keeps each pixel max (V) and sets saturation to min(1, s·factor) (property)', () => {
    fc.assert(
      fc.property(unitImage, fc.double({ min: 0, max: 4, noNaN: true }), (image, factor) => {
        const out = adjustSaturation(image, factor).data;
        for (let i = 0; i < out.length; i += 3) {
          const v = Math.max(image.data[i], image.data[i + 1], image.data[i + 2]);
          expect(Math.abs(Math.max(out[i], out[i + 1], out[i + 2]) - v)).toBeLessThanOrEqual(1e-6);
          // Saturation is a ratio: it is only well defined for pixels that are not (nearly) black.
          if (v > 1e-3) {
            const expected = Math.min(1, saturationAt(image.data, i) * Math.fround(factor));
            expect(Math.abs(saturationAt(out, i) - expected)).toBeLessThan(1e-4);
          }
        }
      }),
    );
  });

  it('terminates on any finite input, subnormal channel differences included (property)', () => {
    fc.assert(
      fc.property(anyFiniteImage, fc.double({ min: 0, max: 4, noNaN: true }), (image, factor) => {
        expect(adjustSaturation(image, factor).data.length).toBe(image.data.length);
      }),
    );
    // range = 1.4e-45: 1/(6·range) overflows float32 and TF's reduction loop would never end.
    const tiny = 2 ** -149;
    const out = adjustSaturation(pixel(tiny, tiny, 0), 1).data;
    for (const v of out) expect(Math.abs(v)).toBeLessThanOrEqual(tiny);
    expect(out[0]).toBe(tiny);
  });
});

describe('adjustSaturation on uint8 images', () => {
  it('goes through [0, 1] floats and back: (255, 128, 0) with factor 0.5 gives (255, 191, 127)', () => {
    // (1, 0.50196, 0) → (1, 0.75098, 0.5) → trunc(·255.5) = (255, 191, 127).
    const out = adjustSaturation(u8([1, 1, 3], [255, 128, 0]), 0.5);
    expect(out.dtype).toBe('uint8');
    expect(Array.from(out.data)).toEqual([255, 191, 127]);
    expect(Array.from(adjustSaturation(u8([1, 1, 3], [255, 128, 0]), 0).data)).toEqual([255, 255, 255]);
  });

  it('is the identity for factor 1 on uint8 images (property)', () => {
    fc.assert(
      fc.property(rgbImageArb('uint8'), (image) => {
        expect(Array.from(adjustSaturation(image, 1).data)).toEqual(Array.from(image.data));
      }),
    );
  });
});

describe('adjustSaturation edge cases', () => {
  it('handles empty images and never mutates its input', () => {
    expect(adjustSaturation(f32([0, 2, 3], []), 2).shape).toEqual([0, 2, 3]);
    const image = pixel(1, 0.5, 0);
    adjustSaturation(image, 0);
    expect(Array.from(image.data)).toEqual([1, 0.5, 0]);
  });
});

describe('randomSaturation', () => {
  it('draws one factor in [lower, upper) per image and applies adjustSaturation with it', () => {
    const image = u8([2, 2, 3], [255, 0, 0, 10, 200, 30, 90, 90, 90, 40, 80, 160]);
    const random = (rng: Random) => randomSaturation(image, 0.5, 1.5, rng);
    expectOneUniformDraw(31, [0.5, 1.5], random, (factor) => adjustSaturation(image, factor));
  });

  it('gives the same result for the same seed', () => {
    const image = f32([1, 2, 3], [0.9, 0.3, 0.1, 0.2, 0.4, 0.8]);
    expectReproducible(4, (rng) => randomSaturation(image, 0, 2, rng));
  });

  it('draws factors uniformly from [lower, upper)', () => {
    // (1, 0.875, 0.75) has s = 0.25, so s' = 0.25·f stays below 1 and the output min is 1 − s'.
    const [lower, upper] = [0.2, 3];
    const n = 4000;
    const rng = new CounterRng(99, 'test');
    const image = pixel(1, 0.875, 0.75);
    const factors = Array.from(
      { length: n },
      () => 4 * (1 - Math.min(...randomSaturation(image, lower, upper, rng).data)),
    );
    // Mean 1.6, standard error 2.8/√(12n) ≈ 0.013.
    expectUniformDraws(factors, lower, upper, { slack: 1e-5, meanTolerance: 0.08 });
  });
});

describe('saturation errors', () => {
  const rng = new CounterRng(1, 'test');

  it('requires exactly 3 channels', () => {
    expectRgbRequired('adjustSaturation', 'float32', (image) => adjustSaturation(image, 1));
    expectRgbRequired('randomSaturation', 'float32', (image) => randomSaturation(image, 0, 1, rng));
  });

  it('rejects a non-finite or non-number factor', () => {
    for (const factor of [Number.NaN, Infinity, '2' as unknown as number]) {
      expect(() => adjustSaturation(pixel(1, 0, 0), factor)).toThrow(
        /^adjustSaturation: Expected a finite number for factor/,
      );
    }
  });

  it('checks lower and upper as randomContrast does', () => {
    const image = pixel(1, 0, 0);
    expect(() => randomSaturation(image, 1, 1, rng)).toThrow(
      'randomSaturation: Expected a finite number > lower (1) for upper but received 1',
    );
    expect(() => randomSaturation(image, -0.5, 1, rng)).toThrow(
      'randomSaturation: Expected a non-negative number for lower but received -0.5',
    );
  });

  it('rejects a non-image', () => {
    expect(() => adjustSaturation({} as Image, 1)).toThrow(
      /^adjustSaturation: Expected a uint8 or float32 image/,
    );
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomSaturation', (rng) => randomSaturation(pixel(1, 0, 0), 0.5, 1.5, rng));
  });
});
