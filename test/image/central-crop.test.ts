import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { centralCrop } from '../../src/image/central-crop.js';
import { crop } from '../../src/image/crop.js';
import type { Image } from '../../src/image/image.js';

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

/**
 * A fraction in (0, 1]: arbitrary doubles, plus 1 and small values. Below about 1e-16, S - S·f rounds
 * to S and an even axis crops to nothing (tested on its own), so the generator stops at 1e-12.
 */
const arbFraction = fc.oneof(
  fc.double({ min: 1e-12, max: 1, noNaN: true }),
  fc.constantFrom(1, 0.5, 0.875, 1e-9),
);

function indexImage(height: number, width: number, channels: number): Image<'float32'> {
  const data = Float32Array.from({ length: height * width * channels }, (_, i) => i);
  return { dtype: 'float32', shape: [height, width, channels], data };
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

describe('centralCrop', () => {
  it.each([
    // [size, fraction, start, cropped size]
    [5, 0.5, 1, 3],
    [32, 0.875, 2, 28],
    [10, 0.3, 3, 4],
    [10, 0.1, 4, 2],
    [7, 1e-9, 3, 1],
    [1, 0.5, 0, 1],
  ])('S = %d, f = %d: start %d, size %d on both axes', (size, fraction, start, cropped) => {
    const image = indexImage(size, size, 2);
    const out = centralCrop(image, fraction);
    expect(out.shape).toEqual([cropped, cropped, 2]);
    expect(out).toEqual(crop(image, start, start, cropped, cropped));
  });

  it('like TF, a fraction so small that S - S·f rounds to S leaves an even axis empty', () => {
    expect(centralCrop(indexImage(4, 5, 3), 1e-17).shape).toEqual([0, 1, 3]);
  });

  it('treats each axis on its own', () => {
    const out = centralCrop(indexImage(5, 8, 1), 0.5);
    expect(out.shape).toEqual([3, 4, 1]);
    expect(out).toEqual(crop(indexImage(5, 8, 1), 1, 2, 3, 4));
  });

  it('keeps a centred window with S·f <= size < S·f + 2 on each axis, input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, arbFraction, (image, f) => {
        const before = image.data.slice();
        const out = centralCrop(image, f);
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape[2]).toBe(image.shape[2]);
        for (const axis of [0, 1]) {
          const size = image.shape[axis];
          const kept = out.shape[axis];
          expect(kept).toBeGreaterThanOrEqual(size * f);
          expect(kept).toBeLessThan(size * f + 2);
          expect((size - kept) % 2).toBe(0); // as many removed before as after
        }
        const [h, w] = out.shape;
        expect(out).toEqual(crop(image, (image.shape[0] - h) / 2, (image.shape[1] - w) / 2, h, w));
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('agrees with tf.slice at the offsets of TF central_crop (property)', () => {
    fc.assert(
      fc.property(arbImage, arbFraction, (image, f) => {
        const [height, width] = image.shape;
        // tf.image.central_crop: to_int32((S - S * f) / 2) in double, size = S - 2 * start
        const startY = Math.trunc((height - height * f) / 2);
        const startX = Math.trunc((width - width * f) / 2);
        tf.tidy(() => {
          const want = tf.slice(
            toTf(image),
            [startY, startX, 0],
            [height - 2 * startY, width - 2 * startX, -1],
          );
          expectAgrees(centralCrop(image, f), want);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('f = 1 returns a copy, not the input', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [2, 1, 1], data: Uint8Array.of(3, 4) };
    const out = centralCrop(image, 1);
    expect(out).toEqual(image);
    expect(out).not.toBe(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
  });

  it('rejects a non-image', () => {
    const e = errorOf(() => centralCrop(null as unknown as Image, 0.5));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(/^centralCrop: Expected a uint8 or float32 image tensor .* but received null$/);
  });

  it.each([
    [0, '0'],
    [-0.25, '-0.25'],
    [1.0000001, '1.0000001'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['0.5', '"0.5"'],
  ])('rejects centralFraction %s', (f, received) => {
    const e = errorOf(() => centralCrop(indexImage(4, 4, 1), f as number));
    expect(e.parameter).toBe('centralFraction');
    expect(e.message).toBe(
      `centralCrop: Expected a number within (0, 1] for centralFraction but received ${received}`,
    );
  });
});
