import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../../src/core/rng.js';
import { flipLeftRight, flipUpDown, randomFlipLeftRight, randomFlipUpDown } from '../../src/image/flip.js';
import type { Image } from '../../src/image/image.js';
import {
  arbImage,
  at,
  expectAgrees,
  expectCopy,
  expectElements,
  expectNotAnImage,
  expectPure,
  expectRngRejected,
  indexImage,
  scripted,
  useTfCpu,
} from '../helpers/image.js';

const rampImage = (height: number, width: number, channels: number) =>
  indexImage('uint8', height, width, channels);

useTfCpu();

describe('flipLeftRight', () => {
  it('reverses the columns, keeping each pixel whole', () => {
    const out = flipLeftRight(rampImage(2, 3, 2));
    expect(out.shape).toEqual([2, 3, 2]);
    expect(Array.from(out.data)).toEqual([4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7]);
  });

  it('out[y, x, c] = image[y, W - 1 - x, c], an involution, input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        const width = image.shape[1];
        const out = expectPure(image, image.shape, flipLeftRight);
        expectElements(out, (y, x, c) => at(image, y, width - 1 - x, c));
        expect(flipLeftRight(out)).toEqual(image);
      }),
    );
  });

  it('agrees with tf.reverse(axis 1) (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        expectAgrees(flipLeftRight(image), image, (t) => tf.reverse(t, 1));
      }),
      { numRuns: 60 },
    );
  });

  it('a 1-column image comes back as an equal copy', () => {
    const image = rampImage(3, 1, 4);
    expectCopy(flipLeftRight(image), image);
  });
});

describe('flipUpDown', () => {
  it('reverses the rows', () => {
    const out = flipUpDown(rampImage(3, 2, 1));
    expect(Array.from(out.data)).toEqual([4, 5, 2, 3, 0, 1]);
  });

  it('out[y, x, c] = image[H - 1 - y, x, c], an involution, input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        const height = image.shape[0];
        const out = expectPure(image, image.shape, flipUpDown);
        expectElements(out, (y, x, c) => at(image, height - 1 - y, x, c));
        expect(flipUpDown(out)).toEqual(image);
      }),
    );
  });

  it('agrees with tf.reverse(axis 0) (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        expectAgrees(flipUpDown(image), image, (t) => tf.reverse(t, 0));
      }),
      { numRuns: 60 },
    );
  });

  it('a 1x1 image comes back as an equal copy', () => {
    const image: Image<'float32'> = { dtype: 'float32', shape: [1, 1, 1], data: Float32Array.of(0.25) };
    expectCopy(flipUpDown(image), image);
  });
});

describe.each([
  ['randomFlipLeftRight', randomFlipLeftRight, flipLeftRight],
  ['randomFlipUpDown', randomFlipUpDown, flipUpDown],
] as const)('%s', (name, randomFlip, flip) => {
  it.each([0, 0.25, 0.49999997])('flips when u = %d (< 0.5), with exactly one uniformFloat32 draw', (u) => {
    const image = rampImage(2, 2, 3);
    const rng = scripted(u);
    expect(randomFlip(image, rng)).toEqual(flip(image));
    expect(rng.calls).toEqual(['uniformFloat32']);
  });

  it.each([0.5, 0.75, 0.99999994])('keeps the image when u = %d (>= 0.5), with exactly one draw', (u) => {
    const image = rampImage(2, 2, 3);
    const rng = scripted(u);
    expectCopy(randomFlip(image, rng), image);
    expect(rng.calls).toEqual(['uniformFloat32']);
  });

  it('gives either the image or its flip, the same for the same rng state, input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, fc.nat(), (image, seed) => {
        const before = image.data.slice();
        const out = randomFlip(image, new CounterRng(seed, 'test'));
        const flips = new CounterRng(seed, 'test').uniformFloat32() < 0.5;
        expect(out).toEqual(flips ? flip(image) : image);
        expect(randomFlip(image, new CounterRng(seed, 'test'))).toEqual(out);
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('flips about half the time (10000 images, 6-sigma bounds)', () => {
    const image = rampImage(2, 2, 1); // asymmetric on both axes
    const rng = new CounterRng(7, 'test');
    let flipped = 0;
    for (let i = 0; i < 10_000; i++) if (randomFlip(image, rng).data[0] !== 0) flipped++;
    // binomial(10000, 0.5): sd = 50
    expect(flipped).toBeGreaterThan(5000 - 300);
    expect(flipped).toBeLessThan(5000 + 300);
  });

  it('rejects a non-image before drawing', () => {
    const rng = scripted(0);
    expectNotAnImage(name, () => randomFlip({ dtype: 'uint8', shape: [1, 1, 1] } as unknown as Image, rng));
    expect(rng.calls).toEqual([]);
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected(name, (rng) => randomFlip(rampImage(2, 2, 1), rng));
  });
});

describe.each([
  ['flipLeftRight', flipLeftRight],
  ['flipUpDown', flipUpDown],
] as const)('%s errors', (name, flip) => {
  it('rejects a non-image', () => {
    expectNotAnImage(name, () => flip({ dtype: 'float32', shape: [1, 1, 1, 1], data: new Float32Array(1) }));
  });
});
