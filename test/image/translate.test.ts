import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import type { Image, Random } from '../../src/image/image.js';
import { randomTranslate, translate } from '../../src/image/translate.js';

/** A random HWC image: 1..8 x 1..8, 1, 3 or 4 channels, uint8 or finite float32. */
const arbImage = fc
  .record({
    height: fc.integer({ min: 1, max: 8 }),
    width: fc.integer({ min: 1, max: 8 }),
    channels: fc.constantFrom(1, 3, 4),
    dtype: fc.constantFrom('uint8' as const, 'float32' as const),
  })
  .chain(({ height, width, channels, dtype }) => {
    const n = height * width * channels;
    const data =
      dtype === 'uint8'
        ? fc.uint8Array({ minLength: n, maxLength: n })
        : fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true });
    return data.map((d) => ({ dtype, shape: [height, width, channels], data: d }) as Image);
  });

/** A fill value valid for the image's dtype. */
function arbFill(image: Image): fc.Arbitrary<number> {
  return image.dtype === 'uint8'
    ? fc.integer({ min: 0, max: 255 })
    : fc.float({ noNaN: true, noDefaultInfinity: true });
}

/** An image, shifts from -10 to 10 (so some exceed the image) and a fill value. */
const arbCase = arbImage.chain((image) =>
  fc.record({
    image: fc.constant(image),
    dy: fc.integer({ min: -10, max: 10 }),
    dx: fc.integer({ min: -10, max: 10 }),
    fillValue: arbFill(image),
  }),
);

function rampImage(height: number, width: number): Image<'uint8'> {
  const data = Uint8Array.from({ length: height * width }, (_, i) => i + 1);
  return { dtype: 'uint8', shape: [height, width, 1], data };
}

/** A Random that records the `below` limits asked for and answers from `answers` (or a CounterRng). */
function recording(answers?: number[], seed = 1): Random & { limits: number[] } {
  const inner = new CounterRng(seed, 'test');
  const limits: number[] = [];
  return {
    limits,
    nextUint32: () => inner.nextUint32(),
    uniform: () => inner.uniform(),
    uniformFloat32: () => inner.uniformFloat32(),
    below(n: number) {
      limits.push(n);
      return answers ? (answers.shift() as number) : inner.below(n);
    },
  };
}

function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

/** Upper critical value of chi-square at p = 1e-6 (scipy.stats.chi2.isf(1e-6, 34)). */
const CHI2_P1E6_DF34 = 88.38;

function at(image: Image, y: number, x: number, c: number): number {
  const [, width, channels] = image.shape;
  return image.data[(y * width + x) * channels + c];
}

function toTf(image: Image): tf.Tensor3D {
  const [h, w, c] = image.shape;
  return image.dtype === 'uint8'
    ? tf.tensor3d(Int32Array.from(image.data), [h, w, c], 'int32')
    : tf.tensor3d(image.data as Float32Array, [h, w, c], 'float32');
}

function expectAgrees(ours: Image, theirs: tf.Tensor): void {
  expect(ours.shape).toEqual(theirs.shape);
  const want = theirs.dataSync();
  expect(ours.data.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(ours.data[i] - (want[i] as number)) <= 1e-4)) {
      throw new Error(`element ${i}: ${ours.data[i]} != ${want[i]}`);
    }
  }
}

function errorOf(call: () => unknown): InvalidArgumentError {
  try {
    call();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('Expected a throw');
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true); // silences the "install the node backend" banner
  await tf.setBackend('cpu');
});

describe('translate', () => {
  // The 3x3 image
  //   1 2 3
  //   4 5 6
  //   7 8 9
  it.each([
    [1, 0, [0, 0, 0, 1, 2, 3, 4, 5, 6]],
    [-1, 0, [4, 5, 6, 7, 8, 9, 0, 0, 0]],
    [0, 1, [0, 1, 2, 0, 4, 5, 0, 7, 8]],
    [0, -2, [3, 0, 0, 6, 0, 0, 9, 0, 0]],
    [1, 1, [0, 0, 0, 0, 1, 2, 0, 4, 5]],
    [3, 0, [0, 0, 0, 0, 0, 0, 0, 0, 0]],
    [0, -7, [0, 0, 0, 0, 0, 0, 0, 0, 0]],
    [0, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9]],
  ])('dy = %d, dx = %d: positive moves down/right, vacated pixels are 0', (dy, dx, data) => {
    const out = translate(rampImage(3, 3), dy, dx);
    expect(out.shape).toEqual([3, 3, 1]);
    expect(Array.from(out.data)).toEqual(data);
  });

  it('fills with fillValue, float32 rounded to float32', () => {
    expect(Array.from(translate(rampImage(1, 3), 0, 1, { fillValue: 255 }).data)).toEqual([255, 1, 2]);
    const image: Image<'float32'> = { dtype: 'float32', shape: [2, 1, 2], data: Float32Array.of(1, 2, 3, 4) };
    expect(Array.from(translate(image, -1, 0, { fillValue: 0.1 }).data)).toEqual([
      3,
      4,
      Math.fround(0.1),
      Math.fround(0.1),
    ]);
    expect(Array.from(translate(image, 1, 0, { fillValue: Number.NEGATIVE_INFINITY }).data)).toEqual([
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1,
      2,
    ]);
    expect(Array.from(translate(image, 1, 0, {}).data)).toEqual([0, 0, 1, 2]);
    expect(Object.is(translate(image, 1, 0, { fillValue: -0 }).data[0], -0)).toBe(true);
  });

  it('out[y, x] = image[y - dy, x - dx] or fillValue outside, same dtype, input untouched (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, dy, dx, fillValue }) => {
        const [height, width, channels] = image.shape;
        const before = image.data.slice();
        const out = translate(image, dy, dx, { fillValue });
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape).toEqual(image.shape);
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++)
            for (let c = 0; c < channels; c++) {
              const sy = y - dy;
              const sx = x - dx;
              const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
              expect(at(out, y, x, c)).toBe(inside ? at(image, sy, sx, c) : Math.fround(fillValue));
            }
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('agrees with tf.pad(fillValue) + tf.slice (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, dy, dx, fillValue }) => {
        const [height, width] = image.shape;
        const py = Math.abs(dy);
        const px = Math.abs(dx);
        tf.tidy(() => {
          const padded = tf.pad(
            toTf(image),
            [
              [py, py],
              [px, px],
              [0, 0],
            ],
            fillValue,
          );
          const want = tf.slice(padded, [py - dy, px - dx, 0], [height, width, -1]);
          expectAgrees(translate(image, dy, dx, { fillValue }), want);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a zero shift is an equal copy', () => {
    const image = rampImage(1, 1);
    const out = translate(image, 0, 0);
    expect(out).toEqual(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
  });

  it('rejects a non-image', () => {
    const e = errorOf(() => translate({} as Image, 0, 0));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(/^translate: Expected a uint8 or float32 image tensor/);
  });

  it.each([
    ['dy', [0.5, 0, {}], 'translate: Expected an integer for dy but received 0.5'],
    ['dy', [Number.NaN, 0, {}], 'translate: Expected an integer for dy but received NaN'],
    ['dx', [0, '1', {}], 'translate: Expected an integer for dx but received "1"'],
    ['dx', [0, Number.POSITIVE_INFINITY, {}], 'translate: Expected an integer for dx but received Infinity'],
    ['options', [0, 0, null], 'translate: Expected an options object for options but received null'],
    ['options', [0, 0, 5], 'translate: Expected an options object for options but received 5'],
    [
      'fillValue',
      [0, 0, { fillValue: 256 }],
      'translate: Expected an integer in [0, 255] for fillValue but received 256',
    ],
    [
      'fillValue',
      [0, 0, { fillValue: -1 }],
      'translate: Expected an integer in [0, 255] for fillValue but received -1',
    ],
    [
      'fillValue',
      [0, 0, { fillValue: 1.5 }],
      'translate: Expected an integer in [0, 255] for fillValue but received 1.5',
    ],
  ])('uint8: rejects a bad %s (%j)', (name, [dy, dx, options], message) => {
    const e = errorOf(() => translate(rampImage(2, 2), dy as number, dx as number, options as object));
    expect(e.parameter).toBe(name);
    expect(e.message).toBe(message);
  });

  it('float32: rejects a fillValue that is not a number', () => {
    const image: Image<'float32'> = { dtype: 'float32', shape: [1, 1, 1], data: new Float32Array(1) };
    const e = errorOf(() => translate(image, 0, 0, { fillValue: '0' as unknown as number }));
    expect(e.parameter).toBe('fillValue');
    expect(e.message).toBe('translate: Expected a number for fillValue but received "0"');
  });
});

describe('randomTranslate', () => {
  it('draws dy = below(2·maxDy + 1) - maxDy, then dx likewise', () => {
    const rng = recording([0, 4]);
    const out = randomTranslate(rampImage(3, 3), 1, 2, rng);
    expect(rng.limits).toEqual([3, 5]);
    expect(out).toEqual(translate(rampImage(3, 3), -1, 2));
  });

  it('max 0 on an axis never shifts it', () => {
    const rng = recording([0, 0]);
    expect(randomTranslate(rampImage(2, 2), 0, 0, rng)).toEqual(rampImage(2, 2));
    expect(rng.limits).toEqual([1, 1]);
  });

  it('is translate by shifts in [-max, max], reproducible from the rng state, input untouched (property)', () => {
    fc.assert(
      fc.property(arbCase, fc.nat(4), fc.nat(4), fc.nat(), ({ image, fillValue }, maxDy, maxDx, seed) => {
        const before = image.data.slice();
        const out = randomTranslate(image, maxDy, maxDx, new CounterRng(seed, 'test'), { fillValue });
        const replay = new CounterRng(seed, 'test');
        const dy = replay.below(2 * maxDy + 1) - maxDy;
        const dx = replay.below(2 * maxDx + 1) - maxDx;
        expect(Math.abs(dy)).toBeLessThanOrEqual(maxDy);
        expect(Math.abs(dx)).toBeLessThanOrEqual(maxDx);
        expect(out).toEqual(translate(image, dy, dx, { fillValue }));
        expect(randomTranslate(image, maxDy, maxDx, new CounterRng(seed, 'test'), { fillValue })).toEqual(
          out,
        );
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('shifts are uniform over [-maxDy, maxDy] x [-maxDx, maxDx] (chi-square, p = 1e-6 bound)', () => {
    // 7x9 image of distinct values, float fill -1: the centre pixel (3, 4) shows where it came from.
    const data = Float32Array.from({ length: 63 }, (_, i) => i);
    const image: Image<'float32'> = { dtype: 'float32', shape: [7, 9, 1], data };
    const rng = new CounterRng(99, 'test');
    const counts = new Array(5 * 7).fill(0);
    const n = 7000;
    for (let i = 0; i < n; i++) {
      const source = randomTranslate(image, 2, 3, rng, { fillValue: -1 }).data[3 * 9 + 4];
      const dy = 3 - Math.floor(source / 9);
      const dx = 4 - (source % 9);
      counts[(dy + 2) * 7 + (dx + 3)]++;
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
    expect(counts.every((count) => count > 0)).toBe(true);
    expect(chiSquare(counts)).toBeLessThan(CHI2_P1E6_DF34);
  });

  it('rejects a non-image before drawing', () => {
    const rng = recording();
    const e = errorOf(() => randomTranslate(null as unknown as Image, 1, 1, rng));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(/^randomTranslate: Expected a uint8 or float32 image tensor/);
    expect(rng.limits).toEqual([]);
  });

  it.each([
    ['maxDy', [-1, 0, {}], 'Expected an integer in [0, 2147483647] for maxDy but received -1'],
    ['maxDy', [1.5, 0, {}], 'Expected an integer in [0, 2147483647] for maxDy but received 1.5'],
    ['maxDy', [2 ** 31, 0, {}], 'Expected an integer in [0, 2147483647] for maxDy but received 2147483648'],
    ['maxDx', [0, Number.NaN, {}], 'Expected an integer in [0, 2147483647] for maxDx but received NaN'],
    ['maxDx', [0, undefined, {}], 'Expected an integer in [0, 2147483647] for maxDx but received undefined'],
    [
      'fillValue',
      [1, 1, { fillValue: 300 }],
      'Expected an integer in [0, 255] for fillValue but received 300',
    ],
    ['options', [1, 1, 'fill'], 'Expected an options object for options but received "fill"'],
  ])('rejects a bad %s (%j) before drawing', (name, [maxDy, maxDx, options], message) => {
    const rng = recording();
    const e = errorOf(() =>
      randomTranslate(rampImage(2, 2), maxDy as number, maxDx as number, rng, options as object),
    );
    expect(e.parameter).toBe(name);
    expect(e.message).toBe(`randomTranslate: ${message}`);
    expect(rng.limits).toEqual([]);
  });
});
