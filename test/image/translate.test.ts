import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../../src/core/rng.js';
import type { Image } from '../../src/image/image.js';
import { randomTranslate, translate } from '../../src/image/translate.js';
import {
  arbImage,
  at,
  CHI2_P1E6,
  chiSquare,
  expectAgrees,
  expectCopy,
  expectElements,
  expectInvalidArgument,
  expectNotAnImage,
  expectPure,
  expectRngRejected,
  indexImage,
  recording,
  useTfCpu,
} from '../helpers/image.js';

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

/** A 1-channel uint8 image holding 1, 2, 3, ...: vacated pixels (0) stand out. */
const rampImage = (height: number, width: number) => indexImage('uint8', height, width, 1, 1);

useTfCpu();

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
        const [height, width] = image.shape;
        const out = expectPure(image, image.shape, (x) => translate(x, dy, dx, { fillValue }));
        expectElements(out, (y, x, c) => {
          const sy = y - dy;
          const sx = x - dx;
          const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
          return inside ? at(image, sy, sx, c) : Math.fround(fillValue);
        });
      }),
    );
  });

  it('agrees with tf.pad(fillValue) + tf.slice (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, dy, dx, fillValue }) => {
        const [height, width] = image.shape;
        const py = Math.abs(dy);
        const px = Math.abs(dx);
        const paddings: [number, number][] = [
          [py, py],
          [px, px],
          [0, 0],
        ];
        expectAgrees(translate(image, dy, dx, { fillValue }), image, (t) =>
          tf.slice(tf.pad(t, paddings, fillValue), [py - dy, px - dx, 0], [height, width, -1]),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('a zero shift is an equal copy', () => {
    const image = rampImage(1, 1);
    expectCopy(translate(image, 0, 0), image);
  });

  it('rejects a non-image', () => {
    expectNotAnImage('translate', () => translate({} as Image, 0, 0));
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
    expectInvalidArgument(
      () => translate(rampImage(2, 2), dy as number, dx as number, options as object),
      name,
      message,
    );
  });

  it('float32: rejects a fillValue that is not a number', () => {
    const image: Image<'float32'> = { dtype: 'float32', shape: [1, 1, 1], data: new Float32Array(1) };
    expectInvalidArgument(
      () => translate(image, 0, 0, { fillValue: '0' as unknown as number }),
      'fillValue',
      'translate: Expected a number for fillValue but received "0"',
    );
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
    expect(chiSquare(counts)).toBeLessThan(CHI2_P1E6[34]);
  });

  it('rejects a non-image before drawing', () => {
    const rng = recording();
    expectNotAnImage('randomTranslate', () => randomTranslate(null as unknown as Image, 1, 1, rng));
    expect(rng.limits).toEqual([]);
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomTranslate', (rng) => randomTranslate(rampImage(2, 2), 1, 1, rng));
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
    const call = () =>
      randomTranslate(rampImage(2, 2), maxDy as number, maxDx as number, rng, options as object);
    expectInvalidArgument(call, name, `randomTranslate: ${message}`);
    expect(rng.limits).toEqual([]);
  });
});
