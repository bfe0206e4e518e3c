import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { crop } from '../../src/image/crop.js';
import type { Image } from '../../src/image/image.js';
import { padToBoundingBox } from '../../src/image/pad.js';
import { resizeWithCropOrPad } from '../../src/image/resize-with-crop-or-pad.js';

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

/** An image and targets from 1 to 12, so both crops and pads (and each on one axis) occur. */
const arbCase = fc.record({
  image: arbImage,
  th: fc.integer({ min: 1, max: 12 }),
  tw: fc.integer({ min: 1, max: 12 }),
});

function indexImage(height: number, width: number, channels: number): Image<'float32'> {
  const data = Float32Array.from({ length: height * width * channels }, (_, i) => i + 1);
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

describe('resizeWithCropOrPad', () => {
  it('32 -> 24 crops from offset 4 on both axes', () => {
    const image = indexImage(32, 32, 3);
    const out = resizeWithCropOrPad(image, 24, 24);
    expect(out.shape).toEqual([24, 24, 3]);
    expect(out).toEqual(crop(image, 4, 4, 24, 24));
  });

  it('24 -> 32 pads 4 on every side', () => {
    const image = indexImage(24, 24, 1);
    expect(resizeWithCropOrPad(image, 32, 32)).toEqual(padToBoundingBox(image, 4, 4, 32, 32));
  });

  it('an odd crop removes the extra row/column at the bottom/right', () => {
    // 5 -> 2: floor(3 / 2) = 1 removed before, 2 after
    expect(Array.from(resizeWithCropOrPad(indexImage(5, 1, 1), 2, 1).data)).toEqual([2, 3]);
    expect(Array.from(resizeWithCropOrPad(indexImage(1, 5, 1), 1, 2).data)).toEqual([2, 3]);
  });

  it('an odd pad adds the extra row/column at the bottom/right', () => {
    // 2 -> 5: floor(3 / 2) = 1 added before, 2 after
    expect(Array.from(resizeWithCropOrPad(indexImage(2, 1, 1), 5, 1).data)).toEqual([0, 1, 2, 0, 0]);
    expect(Array.from(resizeWithCropOrPad(indexImage(1, 2, 1), 1, 5).data)).toEqual([0, 1, 2, 0, 0]);
  });

  it('crops one axis and pads the other in one call', () => {
    const out = resizeWithCropOrPad(indexImage(3, 1, 2), 1, 3);
    expect(out.shape).toEqual([1, 3, 2]);
    expect(Array.from(out.data)).toEqual([0, 0, 3, 4, 0, 0]);
  });

  it('is crop-then-pad at TF offsets, same dtype, input untouched (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, th, tw }) => {
        const [height, width, channels] = image.shape;
        const before = image.data.slice();
        const out = resizeWithCropOrPad(image, th, tw);
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape).toEqual([th, tw, channels]);
        const h = Math.min(height, th);
        const w = Math.min(width, tw);
        const cropped = crop(image, (height - h) >> 1, (width - w) >> 1, h, w);
        expect(out).toEqual(padToBoundingBox(cropped, (th - h) >> 1, (tw - w) >> 1, th, tw));
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('agrees with tf.slice + tf.pad at the offsets of TF resize_image_with_crop_or_pad (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, th, tw }) => {
        const [height, width] = image.shape;
        // TF: offset_crop = max(-diff // 2, 0), offset_pad = max(diff // 2, 0), diff = target - size
        const floorDiv2 = (n: number) => Math.floor(n / 2);
        const cropY = Math.max(floorDiv2(-(th - height)), 0);
        const cropX = Math.max(floorDiv2(-(tw - width)), 0);
        const padY = Math.max(floorDiv2(th - height), 0);
        const padX = Math.max(floorDiv2(tw - width), 0);
        const h = Math.min(th, height);
        const w = Math.min(tw, width);
        tf.tidy(() => {
          const cropped = tf.slice(toTf(image), [cropY, cropX, 0], [h, w, -1]);
          const want = tf.pad(cropped, [
            [padY, th - h - padY],
            [padX, tw - w - padX],
            [0, 0],
          ]);
          expectAgrees(resizeWithCropOrPad(image, th, tw), want);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('the same size is a copy', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [1, 1, 4], data: Uint8Array.of(9, 8, 7, 6) };
    const out = resizeWithCropOrPad(image, 1, 1);
    expect(out).toEqual(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
  });

  it('rejects a non-image', () => {
    const bad = { dtype: 'float32', shape: [2, 2, 1], data: new Float32Array(3) } as Image;
    const e = errorOf(() => resizeWithCropOrPad(bad, 1, 1));
    expect(e.parameter).toBe('image');
    expect(e.message).toBe(
      'resizeWithCropOrPad: Expected data of length 4 for shape [2, 2, 1] for image but received 3',
    );
  });

  it.each([
    ['targetHeight', [0, 4], '0'],
    ['targetHeight', [-3, 4], '-3'],
    ['targetHeight', [2.5, 4], '2.5'],
    ['targetWidth', [4, 0], '0'],
    ['targetWidth', [4, Number.NaN], 'NaN'],
    ['targetWidth', [4, null], 'null'],
  ])('rejects a bad %s: %j', (name, [th, tw], received) => {
    const e = errorOf(() => resizeWithCropOrPad(indexImage(3, 3, 1), th as number, tw as number));
    expect(e.parameter).toBe(name);
    expect(e.message).toBe(
      `resizeWithCropOrPad: Expected a positive integer for ${name} but received ${received}`,
    );
  });
});
