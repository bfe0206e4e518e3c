import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Image } from '../../src/image/image.js';
import { rot90 } from '../../src/image/rot90.js';
import {
  arbImage,
  at,
  expectAgrees,
  expectCopy,
  expectElements,
  expectInvalidArgument,
  expectPure,
  indexImage,
  useTfCpu,
} from '../helpers/image.js';

const rampImage = (height: number, width: number, channels: number) =>
  indexImage('uint8', height, width, channels);

/** TF's _rot90_3D, built from tf.transpose and tf.reverse. */
function tfRot90(image: tf.Tensor3D, k: number): tf.Tensor {
  switch (((k % 4) + 4) % 4) {
    case 1:
      return tf.transpose(tf.reverse(image, 1), [1, 0, 2]);
    case 2:
      return tf.reverse(image, [0, 1]);
    case 3:
      return tf.reverse(tf.transpose(image, [1, 0, 2]), 1);
    default:
      return image;
  }
}

useTfCpu();

describe('rot90', () => {
  // The 2x3 image
  //   0 1 2
  //   3 4 5
  it.each([
    [1, [3, 2], [2, 5, 1, 4, 0, 3]],
    [2, [2, 3], [5, 4, 3, 2, 1, 0]],
    [3, [3, 2], [3, 0, 4, 1, 5, 2]],
    [-1, [3, 2], [3, 0, 4, 1, 5, 2]],
    [-3, [3, 2], [2, 5, 1, 4, 0, 3]],
    [4, [2, 3], [0, 1, 2, 3, 4, 5]],
    [0, [2, 3], [0, 1, 2, 3, 4, 5]],
  ])('k = %d turns counter-clockwise k times: shape %j', (k, [h, w], data) => {
    const out = rot90(rampImage(2, 3, 1), k);
    expect(out.shape).toEqual([h, w, 1]);
    expect(Array.from(out.data)).toEqual(data);
  });

  it('defaults to one turn', () => {
    expect(rot90(rampImage(2, 3, 2))).toEqual(rot90(rampImage(2, 3, 2), 1));
  });

  it('keeps pixels whole across channels', () => {
    expect(Array.from(rot90(rampImage(1, 2, 3), 1).data)).toEqual([3, 4, 5, 0, 1, 2]);
  });

  it.each([1, 2, 3, -1])('agrees with tf.transpose + tf.reverse for k = %d (property)', (k) => {
    fc.assert(
      fc.property(arbImage, (image) => {
        expectAgrees(rot90(image, k), image, (t) => tfRot90(t, k));
      }),
      { numRuns: 40 },
    );
  });

  it('out[i, j] = image[j, W - 1 - i] for k = 1, same dtype, shape [W, H, C], input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        const [height, width, channels] = image.shape;
        const out = expectPure(image, [width, height, channels], (x) => rot90(x, 1));
        expectElements(out, (i, j, c) => at(image, j, width - 1 - i, c));
      }),
    );
  });

  it('turns compose: rot90(rot90(x, a), b) = rot90(x, a + b), and k counts modulo 4 (property)', () => {
    fc.assert(
      fc.property(
        arbImage,
        fc.integer({ min: -9, max: 9 }),
        fc.integer({ min: -9, max: 9 }),
        fc.integer({ min: -1000, max: 1000 }),
        (image, a, b, m) => {
          expect(rot90(rot90(image, a), b)).toEqual(rot90(image, a + b));
          expect(rot90(image, a + 4 * m)).toEqual(rot90(image, a));
        },
      ),
    );
  });

  it('k = 0 (or any multiple of 4) returns an equal copy', () => {
    const image: Image<'float32'> = {
      dtype: 'float32',
      shape: [1, 1, 4],
      data: Float32Array.of(1, -2, 0.5, 8),
    };
    for (const k of [0, 4, -8]) expectCopy(rot90(image, k), image);
  });

  it('rejects a non-image', () => {
    expectInvalidArgument(
      () => rot90('image' as unknown as Image),
      'image',
      /^rot90: Expected a uint8 or float32 image tensor .* but received "image"$/,
    );
  });

  it.each([
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    ['1', '"1"'],
    [null, 'null'],
  ])('rejects k = %s', (k, received) => {
    expectInvalidArgument(
      () => rot90(rampImage(2, 2, 1), k as number),
      'k',
      `rot90: Expected an integer for k but received ${received}`,
    );
  });
});
