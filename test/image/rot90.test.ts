import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Image } from '../../src/image/image.js';
import { rot90 } from '../../src/image/rot90.js';

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

function rampImage(height: number, width: number, channels: number): Image<'uint8'> {
  const data = Uint8Array.from({ length: height * width * channels }, (_, i) => i);
  return { dtype: 'uint8', shape: [height, width, channels], data };
}

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
        tf.tidy(() => expectAgrees(rot90(image, k), tfRot90(toTf(image), k)));
      }),
      { numRuns: 40 },
    );
  });

  it('out[i, j] = image[j, W - 1 - i] for k = 1, same dtype, shape [W, H, C], input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        const [height, width, channels] = image.shape;
        const before = image.data.slice();
        const out = rot90(image, 1);
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape).toEqual([width, height, channels]);
        for (let i = 0; i < width; i++)
          for (let j = 0; j < height; j++)
            for (let c = 0; c < channels; c++) expect(at(out, i, j, c)).toBe(at(image, j, width - 1 - i, c));
        expect(image.data).toEqual(before);
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
    for (const k of [0, 4, -8]) {
      const out = rot90(image, k);
      expect(out).toEqual(image);
      expect(out.data.buffer).not.toBe(image.data.buffer);
    }
  });

  it('rejects a non-image', () => {
    const e = errorOf(() => rot90('image' as unknown as Image));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(/^rot90: Expected a uint8 or float32 image tensor .* but received "image"$/);
  });

  it.each([
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    ['1', '"1"'],
    [null, 'null'],
  ])('rejects k = %s', (k, received) => {
    const e = errorOf(() => rot90(rampImage(2, 2, 1), k as number));
    expect(e.parameter).toBe('k');
    expect(e.message).toBe(`rot90: Expected an integer for k but received ${received}`);
  });
});
