import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crop } from '../../src/image/crop.js';
import type { Image } from '../../src/image/image.js';
import { padToBoundingBox } from '../../src/image/pad.js';
import { resizeWithCropOrPad } from '../../src/image/resize-with-crop-or-pad.js';
import {
  arbImage,
  expectAgrees,
  expectCopy,
  expectInvalidArgument,
  expectPure,
  indexImage,
  useTfCpu,
} from '../helpers/image.js';

/** An image and targets from 1 to 12, so both crops and pads (and each on one axis) occur. */
const arbCase = fc.record({
  image: arbImage,
  th: fc.integer({ min: 1, max: 12 }),
  tw: fc.integer({ min: 1, max: 12 }),
});

/** Element i holds i + 1, so padding zeros stand out. */
const rampImage = (height: number, width: number, channels: number) =>
  indexImage('float32', height, width, channels, 1);

useTfCpu();

describe('resizeWithCropOrPad', () => {
  it('32 -> 24 crops from offset 4 on both axes', () => {
    const image = rampImage(32, 32, 3);
    const out = resizeWithCropOrPad(image, 24, 24);
    expect(out.shape).toEqual([24, 24, 3]);
    expect(out).toEqual(crop(image, 4, 4, 24, 24));
  });

  it('24 -> 32 pads 4 on every side', () => {
    const image = rampImage(24, 24, 1);
    expect(resizeWithCropOrPad(image, 32, 32)).toEqual(padToBoundingBox(image, 4, 4, 32, 32));
  });

  it('an odd crop removes the extra row/column at the bottom/right', () => {
    // 5 -> 2: floor(3 / 2) = 1 removed before, 2 after
    expect(Array.from(resizeWithCropOrPad(rampImage(5, 1, 1), 2, 1).data)).toEqual([2, 3]);
    expect(Array.from(resizeWithCropOrPad(rampImage(1, 5, 1), 1, 2).data)).toEqual([2, 3]);
  });

  it('an odd pad adds the extra row/column at the bottom/right', () => {
    // 2 -> 5: floor(3 / 2) = 1 added before, 2 after
    expect(Array.from(resizeWithCropOrPad(rampImage(2, 1, 1), 5, 1).data)).toEqual([0, 1, 2, 0, 0]);
    expect(Array.from(resizeWithCropOrPad(rampImage(1, 2, 1), 1, 5).data)).toEqual([0, 1, 2, 0, 0]);
  });

  it('crops one axis and pads the other in one call', () => {
    const out = resizeWithCropOrPad(rampImage(3, 1, 2), 1, 3);
    expect(out.shape).toEqual([1, 3, 2]);
    expect(Array.from(out.data)).toEqual([0, 0, 3, 4, 0, 0]);
  });

  it('is crop-then-pad at TF offsets, same dtype, input untouched (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, th, tw }) => {
        const [height, width, channels] = image.shape;
        const out = expectPure(image, [th, tw, channels], (x) => resizeWithCropOrPad(x, th, tw));
        const h = Math.min(height, th);
        const w = Math.min(width, tw);
        const cropped = crop(image, (height - h) >> 1, (width - w) >> 1, h, w);
        expect(out).toEqual(padToBoundingBox(cropped, (th - h) >> 1, (tw - w) >> 1, th, tw));
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
        const paddings: [number, number][] = [
          [padY, th - h - padY],
          [padX, tw - w - padX],
          [0, 0],
        ];
        expectAgrees(resizeWithCropOrPad(image, th, tw), image, (t) =>
          tf.pad(tf.slice(t, [cropY, cropX, 0], [h, w, -1]), paddings),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('the same size is a copy', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [1, 1, 4], data: Uint8Array.of(9, 8, 7, 6) };
    expectCopy(resizeWithCropOrPad(image, 1, 1), image);
  });

  it('rejects a non-image', () => {
    const bad = { dtype: 'float32', shape: [2, 2, 1], data: new Float32Array(3) } as Image;
    expectInvalidArgument(
      () => resizeWithCropOrPad(bad, 1, 1),
      'image',
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
    expectInvalidArgument(
      () => resizeWithCropOrPad(rampImage(3, 3, 1), th as number, tw as number),
      name,
      `resizeWithCropOrPad: Expected a positive integer for ${name} but received ${received}`,
    );
  });
});
