import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Image } from '../../src/image/image.js';
import { type ResizeOptions, resizeBilinear } from '../../src/image/resize-bilinear.js';
import {
  expectUntouched,
  expectWithinRange,
  maxAbsDiff,
  RESIZE_FLAGS,
  randomImage,
  randomImageArb,
  sides,
  toTf,
  useTfCpu,
} from '../helpers/image.js';

useTfCpu();

function tfResize(image: Image, size: [number, number], o: ResizeOptions): Float32Array {
  return tf.tidy(() =>
    tf.image
      .resizeBilinear(toTf(image), size, o.alignCorners ?? false, o.halfPixelCenters ?? false)
      .dataSync(),
  ) as Float32Array;
}

describe('resizeBilinear agrees with tf.image.resizeBilinear (cpu)', () => {
  const cases: [string, [number, number, number], [number, number]][] = [
    ['upsampling', [4, 6, 3], [9, 13]],
    ['downsampling', [11, 9, 1], [4, 3]],
    ['mixed', [5, 12, 3], [10, 7]],
    ['to 1x1', [6, 5, 1], [1, 1]],
    ['from 1x1', [1, 1, 3], [3, 4]],
  ];
  for (const flags of RESIZE_FLAGS) {
    for (const [name, [h, w, c], size] of cases) {
      it(`${name} ${JSON.stringify(flags)}`, () => {
        const image = randomImage('float32', h, w, c, h * 100 + w);
        const out = resizeBilinear(image, size, flags);
        expect(out.dtype).toBe('float32');
        expect(out.shape).toEqual([size[0], size[1], c]);
        expect(maxAbsDiff(out.data, tfResize(image, size, flags))).toBeLessThan(1e-4);
      });
    }
  }

  it('random float images, sizes and flags', () => {
    fc.assert(
      fc.property(
        sides(10),
        sides(16),
        fc.constantFrom(1, 3),
        fc.constantFrom(...RESIZE_FLAGS),
        fc.nat(),
        ([h, w], [oh, ow], c, flags, seed) => {
          const image = randomImage('float32', h, w, c, seed);
          const out = resizeBilinear(image, [oh, ow], flags);
          expect(maxAbsDiff(out.data, tfResize(image, [oh, ow], flags))).toBeLessThan(1e-4);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('uint8 input gives float32 output equal to the kernel on the same values', () => {
    for (const flags of RESIZE_FLAGS) {
      const image = randomImage('uint8', 7, 5, 3, 7);
      const out = resizeBilinear(image, [12, 3], flags);
      expect(out.dtype).toBe('float32');
      // TF computes the scale and source coordinates in float32, tfjs in float64: coordinates differ by
      // up to ~1e-6, times pixel differences up to 255 (measured max ~2e-4 on 255-range values).
      expect(maxAbsDiff(out.data, tfResize(image, [12, 3], flags))).toBeLessThan(1e-3);
    }
  });
});

describe('resizeBilinear coordinate rules', () => {
  /** f(y, x) = x: bilinear interpolation of a linear ramp returns the sampled coordinate itself. */
  function rampX(h: number, w: number): Image<'float32'> {
    const data = new Float32Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = x;
    return { dtype: 'float32', shape: [h, w, 1], data };
  }

  it('legacy 32 -> 24 samples x = 4/3 at output column 1 (reference example)', () => {
    const out = resizeBilinear(rampX(2, 32), [2, 24]);
    expect(out.data[1]).toBeCloseTo(4 / 3, 6);
    expect(out.data[3]).toBeCloseTo(4, 6);
  });

  it('a ramp maps every output column to clamp(src, 0, in - 1) under each rule', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom(...RESIZE_FLAGS),
        (w, ow, flags) => {
          const out = resizeBilinear(rampX(1, w), [1, ow], flags);
          const scale = flags.alignCorners && ow > 1 ? (w - 1) / (ow - 1) : w / ow;
          for (let d = 0; d < ow; d++) {
            const src = flags.halfPixelCenters ? (d + 0.5) * scale - 0.5 : d * scale;
            expect(out.data[d]).toBeCloseTo(Math.min(Math.max(src, 0), w - 1), 4);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('computes coordinates and weights in float32 as TF does (2 -> 82 rows, row 41)', () => {
    // Exactly 41·2/82 = 1, but TF's float32 coordinate is 1 − 2^-24: row 41 is 2^-24 short of row 1,
    // which shows on a value of 2^24 (float64 arithmetic, as in tfjs, gives 16777216).
    const image: Image<'float32'> = { dtype: 'float32', shape: [2, 1, 1], data: Float32Array.of(0, 2 ** 24) };
    const out = resizeBilinear(image, [82, 1]);
    expect(out.data[41]).toBe(2 ** 24 - 1);
    expect(out.data[42]).toBe(2 ** 24);
  });

  it('alignCorners maps the corner pixels onto each other', () => {
    const image = randomImage('float32', 5, 7, 3, 3);
    const out = resizeBilinear(image, [9, 4], { alignCorners: true });
    const inAt = (y: number, x: number, c: number) => image.data[(y * 7 + x) * 3 + c];
    const outAt = (y: number, x: number, c: number) => out.data[(y * 4 + x) * 3 + c];
    for (let c = 0; c < 3; c++) {
      expect(outAt(0, 0, c)).toBe(inAt(0, 0, c));
      expect(outAt(0, 3, c)).toBe(inAt(0, 6, c));
      expect(outAt(8, 0, c)).toBe(inAt(4, 0, c));
      expect(outAt(8, 3, c)).toBe(inAt(4, 6, c));
    }
  });

  it('the same size returns the same values as float32, under every flag combination', () => {
    for (const flags of RESIZE_FLAGS) {
      for (const dtype of ['uint8', 'float32'] as const) {
        const image = randomImage(dtype, 6, 4, 4, 11);
        const out = resizeBilinear(image, [6, 4], flags);
        expect(out.dtype).toBe('float32');
        expect(Array.from(out.data)).toEqual(Array.from(image.data));
      }
    }
  });

  it('a 1x1 image becomes a constant image of any size', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [1, 1, 2], data: Uint8Array.of(17, 200) };
    for (const flags of RESIZE_FLAGS) {
      const out = resizeBilinear(image, [3, 5], flags);
      for (let i = 0; i < 15; i++) expect([out.data[2 * i], out.data[2 * i + 1]]).toEqual([17, 200]);
    }
  });

  it('does not mutate its input', () => {
    expectUntouched(randomImage('float32', 4, 4, 3, 5), (image) => resizeBilinear(image, [7, 2]));
  });
});

describe('resizeBilinear properties', () => {
  it('outputs are finite with the requested shape, and within the input range', () => {
    fc.assert(
      fc.property(
        randomImageArb(9, 4),
        sides(14),
        fc.constantFrom(...RESIZE_FLAGS),
        (image, [oh, ow], flags) => {
          const c = image.shape[2];
          const out = resizeBilinear(image, [oh, ow], flags);
          expect(out.shape).toEqual([oh, ow, c]);
          expect(out.data.length).toBe(oh * ow * c);
          expectWithinRange(out.data, image.data);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a constant image stays exactly constant', () => {
    fc.assert(
      fc.property(
        sides(9),
        sides(14),
        fc.constantFrom(...RESIZE_FLAGS),
        fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
        ([h, w], [oh, ow], flags, value) => {
          const data = new Float32Array(h * w * 2).fill(value);
          const out = resizeBilinear({ dtype: 'float32', shape: [h, w, 2], data }, [oh, ow], flags);
          // == so that -0 and 0 count as the same constant.
          for (const v of out.data) expect(v === Math.fround(value)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('resizeBilinear errors', () => {
  const image = randomImage('float32', 3, 3, 1, 1);

  it.each([
    ['not an array', 5],
    ['one entry', [4]],
    ['three entries', [4, 4, 1]],
    ['zero height', [0, 4]],
    ['negative width', [4, -2]],
    ['fractional', [4, 2.5]],
    ['NaN', [Number.NaN, 4]],
    ['infinite', [4, Number.POSITIVE_INFINITY]],
    ['a string entry', ['4', 4]],
  ])('rejects a size that is %s', (_name, size) => {
    expect(() => resizeBilinear(image, size as unknown as [number, number])).toThrow(InvalidArgumentError);
    expect(() => resizeBilinear(image, size as unknown as [number, number])).toThrow(
      /^resizeBilinear: Expected an array \[newHeight, newWidth\] of two positive integers for size/,
    );
  });

  it('rejects alignCorners together with halfPixelCenters', () => {
    expect(() => resizeBilinear(image, [4, 4], { alignCorners: true, halfPixelCenters: true })).toThrow(
      'resizeBilinear: Expected false when alignCorners is true for halfPixelCenters but received true',
    );
  });

  it('rejects non-boolean flags and a non-object options argument', () => {
    expect(() => resizeBilinear(image, [4, 4], { alignCorners: 1 as unknown as boolean })).toThrow(
      'resizeBilinear: Expected a boolean for alignCorners but received 1',
    );
    expect(() => resizeBilinear(image, [4, 4], { halfPixelCenters: 'yes' as unknown as boolean })).toThrow(
      /Expected a boolean for halfPixelCenters/,
    );
    expect(() => resizeBilinear(image, [4, 4], 3 as unknown as ResizeOptions)).toThrow(
      /Expected an options object for options/,
    );
  });

  it('rejects something that is not an HWC uint8/float32 image', () => {
    const bad = [
      { dtype: 'float32', shape: [3, 3], data: new Float32Array(9) },
      { dtype: 'int32', shape: [1, 1, 1], data: new Int32Array(1) },
      { dtype: 'float32', shape: [2, 2, 1], data: new Float32Array(3) },
      null,
    ];
    for (const b of bad) {
      expect(() => resizeBilinear(b as unknown as Image, [2, 2])).toThrow(InvalidArgumentError);
    }
  });
});
