import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crop } from '../../src/image/crop.js';
import type { Image } from '../../src/image/image.js';
import { padToBoundingBox } from '../../src/image/pad.js';
import {
  arbImage,
  at,
  expectAgrees,
  expectCopy,
  expectElements,
  expectInvalidArgument,
  expectNotAnImage,
  expectPure,
  useTfCpu,
} from '../helpers/image.js';

/** An image and a bounding box that holds it. */
const arbPad = fc.record({
  image: arbImage,
  oh: fc.nat(4),
  ow: fc.nat(4),
  extraHeight: fc.nat(4),
  extraWidth: fc.nat(4),
});

useTfCpu();

describe('padToBoundingBox', () => {
  it('places the image at (offsetHeight, offsetWidth) in zeros', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [1, 2, 1], data: Uint8Array.of(7, 9) };
    const out = padToBoundingBox(image, 1, 1, 3, 4);
    expect(out.dtype).toBe('uint8');
    expect(out.shape).toEqual([3, 4, 1]);
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0, 0, 7, 9, 0, 0, 0, 0, 0]);
  });

  it('zeros outside the box, the image inside, input untouched (property)', () => {
    fc.assert(
      fc.property(arbPad, ({ image, oh, ow, extraHeight, extraWidth }) => {
        const [height, width, channels] = image.shape;
        const th = oh + height + extraHeight;
        const tw = ow + width + extraWidth;
        const out = expectPure(image, [th, tw, channels], (x) => padToBoundingBox(x, oh, ow, th, tw));
        expectElements(out, (y, x, c) => {
          const inside = y >= oh && y < oh + height && x >= ow && x < ow + width;
          return inside ? at(image, y - oh, x - ow, c) : 0;
        });
        expect(crop(out, oh, ow, height, width)).toEqual(image);
      }),
    );
  });

  it('agrees with tf.pad (property)', () => {
    fc.assert(
      fc.property(arbPad, ({ image, oh, ow, extraHeight, extraWidth }) => {
        const [height, width] = image.shape;
        const out = padToBoundingBox(image, oh, ow, oh + height + extraHeight, ow + width + extraWidth);
        const paddings: [number, number][] = [
          [oh, extraHeight],
          [ow, extraWidth],
          [0, 0],
        ];
        expectAgrees(out, image, (t) => tf.pad(t, paddings));
      }),
      { numRuns: 60 },
    );
  });

  it('a box the size of the image is a copy', () => {
    const image: Image<'float32'> = {
      dtype: 'float32',
      shape: [1, 1, 4],
      data: Float32Array.of(1.5, -2, 3, 4),
    };
    expectCopy(padToBoundingBox(image, 0, 0, 1, 1), image);
  });

  it('rejects a non-image', () => {
    expectNotAnImage('padToBoundingBox', () =>
      padToBoundingBox(new Uint8Array(3) as unknown as Image, 0, 0, 1, 1),
    );
  });

  it.each([
    ['offsetHeight', [-1, 0, 5, 5], /Expected a non-negative integer for offsetHeight but received -1/],
    ['offsetHeight', [0.5, 0, 5, 5], /for offsetHeight but received 0.5/],
    ['offsetWidth', [0, -1, 5, 5], /Expected a non-negative integer for offsetWidth but received -1/],
    ['offsetWidth', [0, undefined, 5, 5], /for offsetWidth but received undefined/],
    ['targetHeight', [0, 0, 2.5, 5], /Expected an integer for targetHeight but received 2.5/],
    [
      'targetWidth',
      [0, 0, 5, Number.POSITIVE_INFINITY],
      /Expected an integer for targetWidth but received Infinity/,
    ],
    [
      'targetHeight',
      [1, 0, 2, 5],
      /Expected at least 3 \(offsetHeight 1 plus image height 2\) for targetHeight but received 2/,
    ],
    [
      'targetWidth',
      [0, 2, 5, 4],
      /Expected at least 5 \(offsetWidth 2 plus image width 3\) for targetWidth but received 4/,
    ],
  ])('rejects a bad %s: %j', (name, args, message) => {
    const [oh, ow, th, tw] = args as number[];
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [2, 3, 1], data: new Uint8Array(6) };
    const e = expectInvalidArgument(() => padToBoundingBox(image, oh, ow, th, tw), name, message);
    expect(e.stage).toBe('padToBoundingBox');
  });
});
