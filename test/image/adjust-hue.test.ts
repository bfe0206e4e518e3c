import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import { adjustHue, randomHue } from '../../src/image/adjust-hue.js';
import type { Image } from '../../src/image/image.js';
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

/** RGB float images with values in [0, 1]. */
const unitImage = rgbImageArb('float32', { min: 0, max: 1 });
/**
 * RGB float images with any values, subnormals included, up to ±1e38 (beyond that max − min can
 * overflow float32, in TF as here).
 */
const LIMIT = Math.fround(1e38);
const anyFiniteImage = rgbImageArb('float32', { min: -LIMIT, max: LIMIT });
const delta = fc.double({ min: -1, max: 1, noNaN: true });

/** Hue of an RGB triple in turns [0, 1), float64 (NaN for greys). */
function hueOf(r: number, g: number, b: number): number {
  const max = Math.max(r, g, b);
  const range = max - Math.min(r, g, b);
  if (range === 0) return Number.NaN;
  let h: number;
  if (max === r) h = (g - b) / range;
  else if (max === g) h = (b - r) / range + 2;
  else h = (r - g) / range + 4;
  return (((h / 6) % 1) + 1) % 1;
}

/** Distance between two hues on the unit circle of turns. */
const hueDistance = (a: number, b: number) => {
  const d = Math.abs(a - b) % 1;
  return Math.min(d, 1 - d);
};

describe('adjustHue on float32 images', () => {
  it('rotates red by a third of a turn to green, and by −1/6 to magenta', () => {
    const green = adjustHue(pixel(1, 0, 0), 1 / 3);
    expect(green.dtype).toBe('float32');
    expect(green.shape).toEqual([1, 1, 3]);
    expect(Array.from(green.data)).toEqual([0, 1, 0]);
    expect(Array.from(adjustHue(pixel(1, 0, 0), -1 / 6).data)).toEqual([1, 0, 1]);
  });

  it('turns orange into azure with half a turn', () => {
    // (1, 0.5, 0): sector 0, ratio 0.5, h = 0.5; + 3 → 3.5: sector 3 (odd), ratio 1 − 0.5 → (min, mid, max).
    expect(Array.from(adjustHue(pixel(1, 0.5, 0), 0.5).data)).toEqual([0, 0.5, 1]);
  });

  it('leaves greys unchanged', () => {
    const out = adjustHue(f32([1, 3, 3], [0, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1]), 0.37);
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1]);
  });

  it('works on [0, 255] floats without clipping', () => {
    expect(Array.from(adjustHue(pixel(255, 127.5, 0), 0.5).data)).toEqual([0, 127.5, 255]);
  });

  it('is the identity for delta 0 within 1e-4 (property)', () => {
    fc.assert(
      fc.property(unitImage, (image) => {
        expect(maxAbsDiff(adjustHue(image, 0).data, image.data)).toBeLessThanOrEqual(1e-4);
      }),
    );
  });

  it('keeps every pixel min and max exactly; the middle value stays between them (property)', () => {
    fc.assert(
      fc.property(fc.oneof(unitImage, anyFiniteImage), delta, (image, d) => {
        const out = adjustHue(image, d).data;
        for (let i = 0; i < out.length; i += 3) {
          const input = [image.data[i], image.data[i + 1], image.data[i + 2]];
          const [min, max] = [Math.min(...input), Math.max(...input)];
          const channels = [out[i], out[i + 1], out[i + 2]];
          // Two of the output channels are exactly the input min and max (indexOf treats −0 as 0).
          const maxAt = channels.indexOf(max);
          expect(maxAt).toBeGreaterThanOrEqual(0);
          const rest = channels.filter((_, j) => j !== maxAt);
          const minAt = rest.indexOf(min);
          expect(minAt).toBeGreaterThanOrEqual(0);
          // The recomputed middle one is in [min, max] up to float32 rounding (TF rounds it the same way).
          const middle = rest[1 - minAt];
          const slack = 2 ** -22 * Math.max(Math.abs(min), Math.abs(max)) + 2 ** -149;
          expect(middle).toBeGreaterThanOrEqual(min - slack);
          expect(middle).toBeLessThanOrEqual(max + slack);
        }
      }),
    );
  });

  it('keeps values of [0, 1] images in [0, 1] (property)', () => {
    fc.assert(
      fc.property(unitImage, delta, (image, d) => {
        for (const v of adjustHue(image, d).data) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('rotates hue by delta and undoes it with −delta (property)', () => {
    fc.assert(
      fc.property(unitImage, delta, (image, d) => {
        const out = adjustHue(image, d).data;
        const back = adjustHue(adjustHue(image, d), -d).data;
        for (let i = 0; i < out.length; i += 3) {
          const [r, g, b] = [image.data[i], image.data[i + 1], image.data[i + 2]];
          for (let j = i; j < i + 3; j++) expect(Math.abs(back[j] - image.data[j])).toBeLessThanOrEqual(1e-4);
          // Hue is only well defined away from greys.
          if (Math.max(r, g, b) - Math.min(r, g, b) > 1e-2) {
            const rotated = hueOf(out[i], out[i + 1], out[i + 2]);
            expect(hueDistance(rotated, hueOf(r, g, b) + d)).toBeLessThan(1e-4);
          }
        }
      }),
    );
  });
});

describe('adjustHue on uint8 images', () => {
  it('goes through [0, 1] floats and back', () => {
    const out = adjustHue(u8([1, 2, 3], [255, 0, 0, 255, 128, 0]), 0.5);
    expect(out.dtype).toBe('uint8');
    // (1, 0, 0) → (0, 1, 1); (1, 0.50196, 0) → (0, 1 − 0.50196, 1) → trunc(0.498·255.5) = 127.
    expect(Array.from(out.data)).toEqual([0, 255, 255, 0, 127, 255]);
  });

  it('is the identity for delta 0 and for a full turn (property)', () => {
    fc.assert(
      fc.property(rgbImageArb('uint8'), fc.constantFrom(0, 1, -1), (image, d) => {
        expect(Array.from(adjustHue(image, d).data)).toEqual(Array.from(image.data));
      }),
    );
  });
});

describe('adjustHue edge cases', () => {
  it('handles empty images and never mutates its input', () => {
    expect(adjustHue(u8([2, 0, 3], []), 0.2).shape).toEqual([2, 0, 3]);
    const image = pixel(1, 0.5, 0);
    adjustHue(image, 0.5);
    expect(Array.from(image.data)).toEqual([1, 0.5, 0]);
  });

  it('accepts the documented bounds −1 and 1', () => {
    expect(Array.from(adjustHue(pixel(1, 0.5, 0), 1).data)).toEqual([1, 0.5, 0]);
    expect(Array.from(adjustHue(pixel(1, 0.5, 0), -1).data)).toEqual([1, 0.5, 0]);
  });
});

describe('randomHue', () => {
  it('draws one delta in [−maxDelta, maxDelta) per image and applies adjustHue with it', () => {
    const image = u8([2, 2, 3], [255, 0, 0, 10, 200, 30, 90, 90, 90, 40, 80, 160]);
    expectOneUniformDraw(
      41,
      [-0.3, 0.3],
      (rng) => randomHue(image, 0.3, rng),
      (d) => adjustHue(image, d),
    );
  });

  it('gives the same result for the same seed', () => {
    const image = f32([1, 2, 3], [0.9, 0.3, 0.1, 0.2, 0.4, 0.8]);
    expectReproducible(6, (rng) => randomHue(image, 0.5, rng));
  });

  it('is the identity for maxDelta 0', () => {
    const image = u8([1, 1, 3], [200, 100, 50]);
    expect(Array.from(randomHue(image, 0, new CounterRng(1, 'test')).data)).toEqual([200, 100, 50]);
  });

  it('draws deltas uniformly from [−maxDelta, maxDelta)', () => {
    // Pure red has hue 0, so the output hue is the delta itself (mod 1).
    const maxDelta = 0.4;
    const n = 4000;
    const rng = new CounterRng(123, 'test');
    const image = pixel(1, 0, 0);
    const deltas = Array.from({ length: n }, () => {
      const [r, g, b] = randomHue(image, maxDelta, rng).data;
      const d = hueOf(r, g, b);
      return d >= 0.5 ? d - 1 : d;
    });
    // Mean 0, standard error 0.8/√(12n) ≈ 0.0037.
    expectUniformDraws(deltas, -maxDelta, maxDelta, { slack: 1e-6, meanTolerance: 0.025 });
  });
});

describe('hue errors', () => {
  const rng = new CounterRng(1, 'test');

  it('requires exactly 3 channels', () => {
    expectRgbRequired('adjustHue', 'uint8', (image) => adjustHue(image, 0.1));
    expectRgbRequired('randomHue', 'uint8', (image) => randomHue(image, 0.1, rng));
  });

  it('rejects a delta outside [−1, 1] or not a number', () => {
    for (const d of [1.5, -1.01, Number.NaN, Infinity, '0.1' as unknown as number]) {
      expect(() => adjustHue(pixel(1, 0, 0), d)).toThrow(
        /^adjustHue: Expected a number in \[-1, 1\] for delta/,
      );
    }
  });

  it('rejects a maxDelta outside [0, 0.5] (TF: ValueError)', () => {
    expect(() => randomHue(pixel(1, 0, 0), 0.6, rng)).toThrow(
      'randomHue: Expected a number in [0, 0.5] for maxDelta but received 0.6',
    );
    for (const maxDelta of [-0.1, Number.NaN, undefined as unknown as number]) {
      expect(() => randomHue(pixel(1, 0, 0), maxDelta, rng)).toThrow(InvalidArgumentError);
    }
  });

  it('rejects a non-image', () => {
    expect(() => adjustHue(null as unknown as Image, 0)).toThrow(
      /^adjustHue: Expected a uint8 or float32 image/,
    );
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomHue', (rng) => randomHue(pixel(1, 0, 0), 0.1, rng));
  });
});
