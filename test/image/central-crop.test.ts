import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { centralCrop } from '../../src/image/central-crop.js';
import { crop } from '../../src/image/crop.js';
import type { Image } from '../../src/image/image.js';
import {
  arbImage,
  expectAgrees,
  expectCopy,
  expectInvalidArgument,
  indexImage,
  useTfCpu,
} from '../helpers/image.js';

/**
 * A fraction in (0, 1]: arbitrary doubles, plus 1 and small values. Below about 1e-16, S - S·f rounds
 * to S and an even axis crops to nothing (tested on its own), so the generator stops at 1e-12.
 */
const arbFraction = fc.oneof(
  fc.double({ min: 1e-12, max: 1, noNaN: true }),
  fc.constantFrom(1, 0.5, 0.875, 1e-9),
);

const rampImage = (height: number, width: number, channels: number) =>
  indexImage('float32', height, width, channels);

useTfCpu();

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
    const image = rampImage(size, size, 2);
    const out = centralCrop(image, fraction);
    expect(out.shape).toEqual([cropped, cropped, 2]);
    expect(out).toEqual(crop(image, start, start, cropped, cropped));
  });

  it('like TF, a fraction so small that S - S·f rounds to S leaves an even axis empty', () => {
    expect(centralCrop(rampImage(4, 5, 3), 1e-17).shape).toEqual([0, 1, 3]);
  });

  it('treats each axis on its own', () => {
    const out = centralCrop(rampImage(5, 8, 1), 0.5);
    expect(out.shape).toEqual([3, 4, 1]);
    expect(out).toEqual(crop(rampImage(5, 8, 1), 1, 2, 3, 4));
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
        const size = [height - 2 * startY, width - 2 * startX, -1];
        expectAgrees(centralCrop(image, f), image, (t) => tf.slice(t, [startY, startX, 0], size));
      }),
      { numRuns: 60 },
    );
  });

  it('f = 1 returns a copy, not the input', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [2, 1, 1], data: Uint8Array.of(3, 4) };
    const out = centralCrop(image, 1);
    expectCopy(out, image);
    expect(out).not.toBe(image);
  });

  it('rejects a non-image', () => {
    expectInvalidArgument(
      () => centralCrop(null as unknown as Image, 0.5),
      'image',
      /^centralCrop: Expected a uint8 or float32 image tensor .* but received null$/,
    );
  });

  it.each([
    [0, '0'],
    [-0.25, '-0.25'],
    [1.0000001, '1.0000001'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['0.5', '"0.5"'],
  ])('rejects centralFraction %s', (f, received) => {
    expectInvalidArgument(
      () => centralCrop(rampImage(4, 4, 1), f as number),
      'centralFraction',
      `centralCrop: Expected a number within (0, 1] for centralFraction but received ${received}`,
    );
  });
});
