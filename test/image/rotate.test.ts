import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import type { Image } from '../../src/image/image.js';
import { type RotateOptions, randomRotation, rotate } from '../../src/image/rotate.js';
import {
  expectReproducible,
  expectRngRejected,
  expectUntouched,
  fillRangeProperty,
  fixedUniforms,
  maxAbsDiff,
  randomImage,
  sides,
  useTfCpu,
} from '../helpers/image.js';

useTfCpu();

const MODES = ['bilinear', 'nearest'] as const;

describe('rotate, nearest mode, agrees with tf.image.rotateWithOffset (cpu)', () => {
  it('random images and angles; positive radians turn the same way in both', () => {
    fc.assert(
      fc.property(
        sides(12),
        fc.constantFrom(1, 3),
        fc.double({ min: -7, max: 7, noNaN: true }),
        fc.float({ min: -2, max: 2, noNaN: true }),
        fc.nat(),
        ([h, w], c, angle, fillValue, seed) => {
          const image = randomImage('float32', h, w, c, seed);
          const out = rotate(image, angle, { interpolation: 'nearest', fillValue });
          // tfjs's centre is (W·cx, H·cy) in pixels: these fractions put it at ((W − 1)/2, (H − 1)/2).
          const center: [number, number] = [(w - 1) / (2 * w), (h - 1) / (2 * h)];
          const expected = tf.tidy(() =>
            tf.image
              .rotateWithOffset(tf.tensor4d(image.data, [1, h, w, c]), angle, fillValue, center)
              .dataSync(),
          );
          expect(maxAbsDiff(out.data, expected)).toBeLessThan(1e-4);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('rotate geometry', () => {
  it('by 0 returns the same values (both modes, both dtypes)', () => {
    for (const interpolation of MODES) {
      for (const dtype of ['uint8', 'float32'] as const) {
        const image = randomImage(dtype, 5, 7, 3, 1);
        const out = rotate(image, 0, { interpolation });
        expect(out.dtype).toBe(dtype);
        expect(out.data).toEqual(image.data);
      }
    }
  });

  it('by 2π returns the same values within rounding', () => {
    fc.assert(
      fc.property(sides(12), fc.constantFrom(...MODES), fc.nat(), ([h, w], interpolation, seed) => {
        const f = randomImage('float32', h, w, 2, seed);
        expect(maxAbsDiff(rotate(f, 2 * Math.PI, { interpolation }).data, f.data)).toBeLessThan(1e-5);
        const u = randomImage('uint8', h, w, 2, seed);
        expect(rotate(u, 2 * Math.PI, { interpolation }).data).toEqual(u.data);
        expect(rotate(u, -2 * Math.PI, { interpolation }).data).toEqual(u.data);
      }),
      { numRuns: 60 },
    );
  });

  it('by π twice is the identity with nearest sampling (any shape)', () => {
    fc.assert(
      fc.property(sides(12), fc.constantFrom(1, 3), fc.nat(), ([h, w], c, seed) => {
        const image = randomImage('float32', h, w, c, seed);
        const once = rotate(image, Math.PI, { interpolation: 'nearest' });
        // Once is a point reflection through the centre: out[y][x] = in[H − 1 − y][W − 1 − x].
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            for (let k = 0; k < c; k++) {
              expect(once.data[(y * w + x) * c + k]).toBe(
                image.data[((h - 1 - y) * w + (w - 1 - x)) * c + k],
              );
            }
          }
        }
        expect(rotate(once, Math.PI, { interpolation: 'nearest' }).data).toEqual(image.data);
      }),
      { numRuns: 60 },
    );
  });

  it('by π/2 on a square image is a counter-clockwise quarter turn: out[y][x] = in[x][N − 1 − y]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(1, 3),
        fc.constantFrom(...MODES),
        fc.nat(),
        (n, c, interpolation, seed) => {
          const image = randomImage('float32', n, n, c, seed);
          const out = rotate(image, Math.PI / 2, { interpolation });
          const expected = new Float32Array(n * n * c);
          for (let y = 0; y < n; y++) {
            for (let x = 0; x < n; x++) {
              for (let k = 0; k < c; k++)
                expected[(y * n + x) * c + k] = image.data[(x * n + (n - 1 - y)) * c + k];
            }
          }
          expect(maxAbsDiff(out.data, expected)).toBeLessThan(1e-5);
          const u = randomImage('uint8', n, n, c, seed);
          const uOut = rotate(u, Math.PI / 2, { interpolation });
          for (let y = 0; y < n; y++) {
            for (let x = 0; x < n; x++) {
              for (let k = 0; k < c; k++) {
                expect(uOut.data[(y * n + x) * c + k]).toBe(u.data[(x * n + (n - 1 - y)) * c + k]);
              }
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('2x2 by π/2: [[a, b], [c, d]] becomes [[b, d], [a, c]]', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [2, 2, 1], data: Uint8Array.of(1, 2, 3, 4) };
    expect(Array.from(rotate(image, Math.PI / 2).data)).toEqual([2, 4, 1, 3]);
    expect(Array.from(rotate(image, -Math.PI / 2).data)).toEqual([3, 1, 4, 2]);
  });

  it('fills the corners that turn in from outside (9x9 by π/4)', () => {
    const data = new Float32Array(81).fill(1);
    const out = rotate({ dtype: 'float32', shape: [9, 9, 1], data }, Math.PI / 4, { fillValue: -3 });
    // Output (0, 0) reads y = 4 − 4·sin − 4·cos ≈ −1.66: outside. The centre row and column stay inside.
    for (const [y, x] of [
      [0, 0],
      [0, 8],
      [8, 0],
      [8, 8],
    ]) {
      expect(out.data[y * 9 + x]).toBe(-3);
    }
    for (let i = 0; i < 9; i++) {
      expect(out.data[4 * 9 + i]).toBe(1);
      expect(out.data[i * 9 + 4]).toBe(1);
    }
  });

  it('bilinear interpolates between neighbours; uint8 rounds to nearest', () => {
    // One row [0, 100, 200]: output x = 2 reads (1 + cos θ, sin θ), which is inside for θ = 0.3.
    const angle = 0.3;
    const expected = 100 + 100 * Math.cos(angle);
    const f: Image<'float32'> = { dtype: 'float32', shape: [1, 3, 1], data: Float32Array.of(0, 100, 200) };
    expect(rotate(f, angle).data[2]).toBeCloseTo(expected, 4);
    const u: Image<'uint8'> = { dtype: 'uint8', shape: [1, 3, 1], data: Uint8Array.of(0, 100, 200) };
    expect(rotate(u, angle).data[2]).toBe(Math.round(expected)); // 196; truncation would give 195
  });

  it('does not mutate its input', () => {
    expectUntouched(randomImage('float32', 4, 5, 3, 8), (image) => rotate(image, 1.1));
  });
});

describe('rotate properties', () => {
  it('keeps shape and dtype; outputs are finite and within [min(input, fill), max(input, fill)]', () => {
    const settings = fc.tuple(fc.constantFrom(...MODES), fc.double({ min: -10, max: 10, noNaN: true }));
    fc.assert(
      fillRangeProperty(settings, (image, fillValue, [interpolation, angle]) =>
        rotate(image, angle, { interpolation, fillValue }),
      ),
      { numRuns: 150 },
    );
  });

  it('a constant image stays constant inside (everything else is the fill)', () => {
    fc.assert(
      fc.property(
        sides(12),
        fc.constantFrom(...MODES),
        fc.double({ min: -7, max: 7, noNaN: true }),
        ([h, w], interpolation, angle) => {
          const value = 0.625;
          const fill = -1;
          const data = new Float32Array(h * w).fill(value);
          const out = rotate({ dtype: 'float32', shape: [h, w, 1], data }, angle, {
            interpolation,
            fillValue: fill,
          });
          // Any pixel within min(H, W)/2 − 1 of the centre reads a source point within that radius too.
          const radius = Math.min(h, w) / 2 - 1;
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const v = out.data[y * w + x];
              if (Math.hypot(x - (w - 1) / 2, y - (h - 1) / 2) <= radius) expect(v).toBe(value);
              else expect([value, fill]).toContain(v);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('randomRotation', () => {
  /** 5x5 image with channel 0 = x: the output at the pixel right of the centre reads x = 2 + cos θ, and
   * the one below it reads x = 2 − sin θ (bilinear is exact on a linear ramp), which gives θ back. */
  const ramp: Image<'float32'> = {
    dtype: 'float32',
    shape: [5, 5, 1],
    data: Float32Array.from({ length: 25 }, (_, i) => i % 5),
  };
  function recoveredAngle(out: Image): number {
    const cos = out.data[2 * 5 + 3] - 2;
    const sin = 2 - out.data[3 * 5 + 2];
    return Math.atan2(sin, cos);
  }

  it('recovers the angle it was given (the measuring device works)', () => {
    for (const a of [-2.5, -1, 0, 0.3, 1.7, 3]) expect(recoveredAngle(rotate(ramp, a))).toBeCloseTo(a, 5);
  });

  it('maps u to the angle −max + 2·max·u in float32 (one draw per image)', () => {
    const max = 0.5;
    const f = Math.fround;
    for (const u of [0, 0.25, 0.5, 1 - 2 ** -24]) {
      const out = randomRotation(ramp, max, fixedUniforms(u));
      const angle = f(f(-max) + f(f(2 * max) * u));
      expect(out.data).toEqual(rotate(ramp, angle).data);
    }
  });

  it('is deterministic for the same rng stream, and passes options through', () => {
    const image = randomImage('uint8', 6, 6, 3, 4);
    const options = { interpolation: 'nearest', fillValue: 7 } as const;
    const out = expectReproducible(9, (rng) => randomRotation(image, 1, rng, options));
    expect(out.data).toContain(7);
  });

  it('draws angles uniformly in [−maxAngle, maxAngle)', () => {
    const rng = new CounterRng(2024, 'test');
    const max = 1.2;
    const n = 2000;
    const bins = [0, 0, 0, 0];
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const a = recoveredAngle(randomRotation(ramp, max, rng));
      expect(Math.abs(a)).toBeLessThanOrEqual(max + 1e-5);
      sum += a;
      bins[Math.min(3, Math.floor(((a + max) / (2 * max)) * 4))]++;
    }
    // Mean of U[−1.2, 1.2): sd 0.69/√2000 ≈ 0.016; each quarter ~ 500 ± 19.
    expect(Math.abs(sum / n)).toBeLessThan(0.1);
    for (const b of bins) expect(Math.abs(b - n / 4)).toBeLessThan(120);
  });

  it('maxAngle 0 always gives an unrotated copy', () => {
    const image = randomImage('float32', 3, 4, 1, 3);
    expect(randomRotation(image, 0, new CounterRng(1, 'test')).data).toEqual(image.data);
  });
});

describe('rotate errors', () => {
  const f = randomImage('float32', 3, 3, 1, 1);
  const u = randomImage('uint8', 3, 3, 1, 1);

  it.each([[Number.NaN], [Number.POSITIVE_INFINITY], ['1'], [undefined]])('rejects angle %s', (angle) => {
    expect(() => rotate(f, angle as unknown as number)).toThrow(
      /^rotate: Expected a finite number of radians for angle/,
    );
  });

  it('rejects an unknown interpolation', () => {
    expect(() => rotate(f, 1, { interpolation: 'bicubic' as unknown as 'nearest' })).toThrow(
      `rotate: Expected one of 'bilinear', 'nearest' for interpolation but received "bicubic"`,
    );
    expect(() =>
      randomRotation(f, 1, new CounterRng(1, 'test'), { interpolation: 3 as unknown as 'nearest' }),
    ).toThrow(InvalidArgumentError);
  });

  it('rejects a uint8 fillValue outside the integers 0..255, and a non-number float fillValue', () => {
    for (const fillValue of [256, -1, 1.5, Number.NaN]) {
      expect(() => rotate(u, 1, { fillValue })).toThrow(
        /^rotate: Expected an integer in \[0, 255\] for fillValue/,
      );
    }
    expect(() => rotate(f, 1, { fillValue: '0' as unknown as number })).toThrow(
      'rotate: Expected a number for fillValue but received "0"',
    );
  });

  it('rejects a non-object options argument and a non-image', () => {
    expect(() => rotate(f, 1, [] as unknown as RotateOptions)).toThrow(/Expected an options object/);
    expect(() =>
      rotate({ dtype: 'float32', shape: [3, 3], data: new Float32Array(9) } as unknown as Image, 1),
    ).toThrow(/^rotate: Expected a uint8 or float32 image tensor/);
  });

  it.each([[-0.1], [Number.NaN], [Number.POSITIVE_INFINITY], ['1']])(
    'randomRotation rejects maxAngle %s',
    (max) => {
      expect(() => randomRotation(f, max as unknown as number, new CounterRng(1, 'test'))).toThrow(
        /^randomRotation: Expected a non-negative finite number of radians for maxAngle/,
      );
    },
  );

  it('randomRotation rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomRotation', (rng) => randomRotation(f, 1, rng));
  });
});
