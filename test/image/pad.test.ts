import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { crop } from '../../src/image/crop.js';
import type { Image } from '../../src/image/image.js';
import { padToBoundingBox } from '../../src/image/pad.js';

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

/** An image and a bounding box that holds it. */
const arbPad = fc.record({
  image: arbImage,
  oh: fc.nat(4),
  ow: fc.nat(4),
  extraHeight: fc.nat(4),
  extraWidth: fc.nat(4),
});

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
        const before = image.data.slice();
        const out = padToBoundingBox(image, oh, ow, th, tw);
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape).toEqual([th, tw, channels]);
        for (let y = 0; y < th; y++)
          for (let x = 0; x < tw; x++)
            for (let c = 0; c < channels; c++) {
              const inside = y >= oh && y < oh + height && x >= ow && x < ow + width;
              expect(at(out, y, x, c)).toBe(inside ? at(image, y - oh, x - ow, c) : 0);
            }
        expect(crop(out, oh, ow, height, width)).toEqual(image);
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('agrees with tf.pad (property)', () => {
    fc.assert(
      fc.property(arbPad, ({ image, oh, ow, extraHeight, extraWidth }) => {
        const [height, width] = image.shape;
        tf.tidy(() => {
          const want = tf.pad(toTf(image), [
            [oh, extraHeight],
            [ow, extraWidth],
            [0, 0],
          ]);
          expectAgrees(
            padToBoundingBox(image, oh, ow, oh + height + extraHeight, ow + width + extraWidth),
            want,
          );
        });
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
    const out = padToBoundingBox(image, 0, 0, 1, 1);
    expect(out).toEqual(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
  });

  it('rejects a non-image', () => {
    const e = errorOf(() => padToBoundingBox(new Uint8Array(3) as unknown as Image, 0, 0, 1, 1));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(/^padToBoundingBox: Expected a uint8 or float32 image tensor/);
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
    const e = errorOf(() => padToBoundingBox(image, oh, ow, th, tw));
    expect(e.parameter).toBe(name);
    expect(e.stage).toBe('padToBoundingBox');
    expect(e.message).toMatch(message);
  });
});
