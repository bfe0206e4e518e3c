import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../../src/core/rng.js';
import type { Image, Random } from '../../src/image/image.js';
import { randomCrop } from '../../src/image/random-crop.js';
import {
  arbImage,
  at,
  CHI2_P1E6,
  chiSquare,
  errorOf,
  expectCopy,
  expectElements,
  expectInvalidArgument,
  expectNotAnImage,
  expectPure,
  expectReproducible,
  expectRngRejected,
  indexImage,
  recording,
} from '../helpers/image.js';

/** An image, a crop size [h, w, c] that fits, and a seed. */
const arbCase = arbImage.chain((image) =>
  fc.record({
    image: fc.constant(image),
    size: fc.tuple(
      fc.integer({ min: 1, max: image.shape[0] }),
      fc.integer({ min: 1, max: image.shape[1] }),
      fc.integer({ min: 1, max: image.shape[2] }),
    ),
    seed: fc.nat(),
  }),
);

/** Each element holds its flat index, so any output element tells where it came from. */
const rampImage = (height: number, width: number, channels: number) =>
  indexImage('float32', height, width, channels);

describe('randomCrop', () => {
  it('draws one offset per dimension with limit = shape - size + 1 and slices there', () => {
    const rng = recording([2, 1, 1]);
    const out = randomCrop(rampImage(5, 4, 3), [2, 3, 2], rng);
    expect(rng.limits).toEqual([4, 2, 2]);
    expect(out.shape).toEqual([2, 3, 2]);
    // rows 2..3, columns 1..3, channels 1..2 of a 5x4x3 index image
    expect(Array.from(out.data)).toEqual([28, 29, 31, 32, 34, 35, 40, 41, 43, 44, 46, 47]);
  });

  it('takes the last possible window when every draw is limit - 1', () => {
    const out = randomCrop(rampImage(6, 6, 1), [2, 2], recording([4, 4]));
    expect(Array.from(out.data)).toEqual([28, 29, 34, 35]);
  });

  it('out = image[oy.., ox.., oc..] for offsets in [0, limit), same dtype, input untouched (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, size, seed }) => {
        const [h, w, c] = size;
        const offsets: number[] = [];
        const inner = new CounterRng(seed, 'test');
        const rng: Random = {
          nextUint32: () => inner.nextUint32(),
          uniform: () => inner.uniform(),
          uniformFloat32: () => inner.uniformFloat32(),
          below: (n) => {
            const v = inner.below(n);
            offsets.push(v);
            return v;
          },
        };
        const out = expectPure(image, [h, w, c], (x) => randomCrop(x, size, rng));
        const limits = [image.shape[0] - h + 1, image.shape[1] - w + 1, image.shape[2] - c + 1];
        // limit-1 dimensions take offset 0 without a draw
        const [oy, ox, oc] = limits.map((limit) => (limit === 1 ? 0 : (offsets.shift() as number)));
        expect(offsets).toEqual([]);
        expect([oy, ox, oc].every((o, i) => o >= 0 && o < limits[i])).toBe(true);
        expectElements(out, (y, x, k) => at(image, oy + y, ox + x, oc + k));
      }),
    );
  });

  it('is reproducible: the same rng state gives the same crop (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, size, seed }) => {
        expectReproducible(seed, (rng) => randomCrop(image, size, rng));
      }),
    );
  });

  it('[h, w] keeps all channels and draws exactly like [h, w, channels] (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, size: [h, w], seed }) => {
        const a = recording(undefined, seed);
        const b = recording(undefined, seed);
        const two = randomCrop(image, [h, w], a);
        expect(two.shape).toEqual([h, w, image.shape[2]]);
        expect(two).toEqual(randomCrop(image, [h, w, image.shape[2]], b));
        expect(a.limits).toEqual(b.limits);
      }),
    );
  });

  it('a crop the size of the image is a copy and draws nothing', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [1, 1, 4], data: Uint8Array.of(1, 2, 3, 4) };
    const rng = recording();
    expectCopy(randomCrop(image, [1, 1, 4], rng), image);
    expect(rng.limits).toEqual([]);
  });

  it('offsets are uniform over 0..limit-1 in every dimension (chi-square, p = 1e-6 bounds)', () => {
    // 6x9x4 image, 2x2x2 crop: limits 5 (rows), 8 (columns), 3 (channels).
    const image = rampImage(6, 9, 4);
    const rng = new CounterRng(2024, 'test');
    const joint = new Array(5 * 8).fill(0);
    const channel = new Array(3).fill(0);
    const n = 8000;
    for (let i = 0; i < n; i++) {
      const first = randomCrop(image, [2, 2, 2], rng).data[0]; // flat index of (oy, ox, oc)
      const oc = first % 4;
      const ox = Math.floor(first / 4) % 9;
      const oy = Math.floor(first / 36);
      joint[oy * 8 + ox]++;
      channel[oc]++;
    }
    expect(joint.every((count) => count > 0)).toBe(true);
    expect(joint.reduce((a, b) => a + b, 0)).toBe(n);
    expect(chiSquare(joint)).toBeLessThan(CHI2_P1E6[39]);
    expect(chiSquare(channel)).toBeLessThan(CHI2_P1E6[2]);
  });

  it('rejects a non-image', () => {
    const bad = { dtype: 'int32', shape: [2, 2, 1], data: new Int32Array(4) } as unknown as Image;
    expectNotAnImage('randomCrop', () => randomCrop(bad, [1, 1], recording()));
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomCrop', (rng) => randomCrop(rampImage(4, 4, 3), [2, 2], rng));
  });

  it.each([
    [24, 'received 24'],
    [[24], 'received \\[24\\]'],
    [[1, 1, 1, 1], 'received \\[1,1,1,1\\]'],
    [[1, -1], 'received \\[1,-1\\]'],
    [[1, 1.5, 1], 'received \\[1,1.5,1\\]'],
    [[1, '1'], 'received \\[1,"1"\\]'],
  ])('rejects a malformed size %j', (size, received) => {
    expectInvalidArgument(
      () => randomCrop(rampImage(4, 4, 3), size as unknown as [number, number], recording()),
      'size',
      new RegExp(
        `^randomCrop: Expected \\[height, width\\] or \\[height, width, channels\\] of non-negative integers for size but ${received}$`,
      ),
    );
  });

  it.each([[[5, 4, 3]], [[4, 5]], [[4, 4, 4]]])(
    'rejects a size larger than the image (Need value.shape >= size): %j',
    (size) => {
      const rng = recording();
      const e = errorOf(() => randomCrop(rampImage(4, 4, 3), size as [number, number], rng));
      expect(e.parameter).toBe('size');
      expect(e.message).toContain(
        'Expected a size no larger than the image shape [4, 4, 3] (Need value.shape >= size) for size',
      );
      expect(rng.limits).toEqual([]);
    },
  );
});
