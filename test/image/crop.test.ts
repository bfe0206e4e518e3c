import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyBlock, crop } from '../../src/image/crop.js';
import type { Image } from '../../src/image/image.js';
import {
  arbImage,
  at,
  expectAgrees,
  expectElements,
  expectInvalidArgument,
  expectNotAnImage,
  expectPure,
  indexImage,
  useTfCpu,
} from '../helpers/image.js';

/** An image with a valid crop window inside it. */
const arbCrop = arbImage.chain((image) => {
  const [height, width] = image.shape;
  return fc
    .record({ oh: fc.integer({ min: 0, max: height - 1 }), ow: fc.integer({ min: 0, max: width - 1 }) })
    .chain(({ oh, ow }) =>
      fc.record({
        image: fc.constant(image),
        oh: fc.constant(oh),
        ow: fc.constant(ow),
        th: fc.integer({ min: 1, max: height - oh }),
        tw: fc.integer({ min: 1, max: width - ow }),
      }),
    );
});

const rampImage = (height: number, width: number, channels: number) =>
  indexImage('float32', height, width, channels);

useTfCpu();

describe('crop', () => {
  it('takes the window at (offsetHeight, offsetWidth)', () => {
    const out = crop(rampImage(3, 4, 1), 1, 1, 2, 2);
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([2, 2, 1]);
    expect(Array.from(out.data)).toEqual([5, 6, 9, 10]);
  });

  it('out[y, x, c] = image[offsetHeight + y, offsetWidth + x, c], same dtype, input untouched (property)', () => {
    fc.assert(
      fc.property(arbCrop, ({ image, oh, ow, th, tw }) => {
        const out = expectPure(image, [th, tw, image.shape[2]], (x) => crop(x, oh, ow, th, tw));
        expectElements(out, (y, x, c) => at(image, oh + y, ow + x, c));
      }),
    );
  });

  it('agrees with tf.slice (property)', () => {
    fc.assert(
      fc.property(arbCrop, ({ image, oh, ow, th, tw }) => {
        expectAgrees(crop(image, oh, ow, th, tw), image, (t) => tf.slice(t, [oh, ow, 0], [th, tw, -1]));
      }),
      { numRuns: 60 },
    );
  });

  it('the whole image is a copy, not the input buffer', () => {
    const image: Image<'uint8'> = {
      dtype: 'uint8',
      shape: [2, 2, 4],
      data: Uint8Array.from({ length: 16 }, (_, i) => i),
    };
    const out = crop(image, 0, 0, 2, 2);
    expect(out.data).toEqual(image.data);
    expect(out.data.buffer).not.toBe(image.data.buffer);
  });

  it('handles a 1x1 image', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [1, 1, 3], data: Uint8Array.of(7, 8, 9) };
    expect(Array.from(crop(image, 0, 0, 1, 1).data)).toEqual([7, 8, 9]);
  });

  it('rejects a non-image', () => {
    const bad = { dtype: 'uint8', shape: [2, 2], data: new Uint8Array(4) } as unknown as Image;
    expectNotAnImage('crop', () => crop(bad, 0, 0, 1, 1));
  });

  it.each([
    ['offsetHeight', [-1, 0, 1, 1], /Expected a non-negative integer for offsetHeight but received -1/],
    ['offsetHeight', [0.5, 0, 1, 1], /for offsetHeight but received 0.5/],
    ['offsetWidth', [0, -2, 1, 1], /Expected a non-negative integer for offsetWidth but received -2/],
    ['offsetWidth', [0, Number.NaN, 1, 1], /for offsetWidth but received NaN/],
    ['targetHeight', [0, 0, 0, 1], /Expected a positive integer for targetHeight but received 0/],
    ['targetHeight', [0, 0, 1.5, 1], /for targetHeight but received 1.5/],
    ['targetWidth', [0, 0, 1, 0], /Expected a positive integer for targetWidth but received 0/],
    ['targetWidth', [0, 0, 1, '2'], /for targetWidth but received "2"/],
    [
      'targetHeight',
      [1, 0, 3, 1],
      /Expected at most 2 \(image height 3 minus offsetHeight 1\) for targetHeight but received 3/,
    ],
    [
      'targetWidth',
      [0, 3, 1, 2],
      /Expected at most 1 \(image width 4 minus offsetWidth 3\) for targetWidth but received 2/,
    ],
  ])('rejects a bad %s: %j', (name, args, message) => {
    const [oh, ow, th, tw] = args as number[];
    const e = expectInvalidArgument(() => crop(rampImage(3, 4, 2), oh, ow, th, tw), name, message);
    expect(e.stage).toBe('crop');
  });
});

describe('copyBlock', () => {
  it('copies a [h, w, c] block from (y, x, c) into (y, x, 0) of the destination, nothing else (property)', () => {
    const arbCase = fc
      .record({
        src: arbImage,
        dstHeight: fc.integer({ min: 1, max: 8 }),
        dstWidth: fc.integer({ min: 1, max: 8 }),
      })
      .chain(({ src, dstHeight, dstWidth }) => {
        const [sh, sw, sc] = src.shape;
        const maxH = Math.min(sh, dstHeight);
        const maxW = Math.min(sw, dstWidth);
        return fc
          .record({
            h: fc.integer({ min: 0, max: maxH }),
            w: fc.integer({ min: 0, max: maxW }),
            c: fc.integer({ min: 1, max: sc }),
            dstChannels: fc.integer({ min: 1, max: 4 }),
          })
          .filter(({ c, dstChannels }) => c <= dstChannels)
          .chain(({ h, w, c, dstChannels }) =>
            fc.record({
              src: fc.constant(src),
              dst: fc.constant({ dstHeight, dstWidth, dstChannels }),
              h: fc.constant(h),
              w: fc.constant(w),
              c: fc.constant(c),
              sy: fc.integer({ min: 0, max: sh - h }),
              sx: fc.integer({ min: 0, max: sw - w }),
              sc: fc.integer({ min: 0, max: sc - c }),
              dy: fc.integer({ min: 0, max: dstHeight - h }),
              dx: fc.integer({ min: 0, max: dstWidth - w }),
            }),
          );
      });
    fc.assert(
      fc.property(
        arbCase,
        ({ src, dst: { dstHeight, dstWidth, dstChannels }, h, w, c, sy, sx, sc, dy, dx }) => {
          const n = dstHeight * dstWidth * dstChannels;
          const data =
            src.dtype === 'uint8' ? new Uint8Array(n).fill(1) : new Float32Array(n).fill(Number.NaN);
          const dst = { dtype: src.dtype, shape: [dstHeight, dstWidth, dstChannels], data } as Image;
          copyBlock(src, sy, sx, sc, dst, dy, dx, h, w, c);
          const sentinel = src.dtype === 'uint8' ? 1 : Number.NaN;
          expectElements(dst, (y, x, k) => {
            const inside = y >= dy && y < dy + h && x >= dx && x < dx + w && k < c;
            return inside ? at(src, sy + y - dy, sx + x - dx, sc + k) : sentinel;
          });
        },
      ),
    );
  });
});
