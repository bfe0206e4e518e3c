import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import type { Image, Random } from '../../src/image/image.js';
import { randomCrop } from '../../src/image/random-crop.js';

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

function at(image: Image, y: number, x: number, c: number): number {
  const [, width, channels] = image.shape;
  return image.data[(y * width + x) * channels + c];
}

/** Each pixel holds its flat index, so any output element tells where it came from. */
function indexImage(height: number, width: number, channels: number): Image<'float32'> {
  const data = Float32Array.from({ length: height * width * channels }, (_, i) => i);
  return { dtype: 'float32', shape: [height, width, channels], data };
}

/** A Random that records the `below` limits asked for and answers from `answers` (or a CounterRng). */
function recording(answers?: number[], seed = 1): Random & { limits: number[] } {
  const inner = new CounterRng(seed, 'test');
  const limits: number[] = [];
  return {
    limits,
    nextUint32: () => inner.nextUint32(),
    uniform: () => inner.uniform(),
    uniformFloat32: () => inner.uniformFloat32(),
    below(n: number) {
      limits.push(n);
      return answers ? (answers.shift() as number) : inner.below(n);
    },
  };
}

function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

/** Upper critical values of chi-square at p = 1e-6 (scipy.stats.chi2.isf(1e-6, df)). */
const CHI2_P1E6 = { 2: 27.63, 39: 96.13 } as const;

function errorOf(call: () => unknown): InvalidArgumentError {
  try {
    call();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('Expected a throw');
}

describe('randomCrop', () => {
  it('draws one offset per dimension with limit = shape - size + 1 and slices there', () => {
    const rng = recording([2, 1, 1]);
    const out = randomCrop(indexImage(5, 4, 3), [2, 3, 2], rng);
    expect(rng.limits).toEqual([4, 2, 2]);
    expect(out.shape).toEqual([2, 3, 2]);
    // rows 2..3, columns 1..3, channels 1..2 of a 5x4x3 index image
    expect(Array.from(out.data)).toEqual([28, 29, 31, 32, 34, 35, 40, 41, 43, 44, 46, 47]);
  });

  it('takes the last possible window when every draw is limit - 1', () => {
    const out = randomCrop(indexImage(6, 6, 1), [2, 2], recording([4, 4]));
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
        const before = image.data.slice();
        const out = randomCrop(image, size, rng);
        const limits = [image.shape[0] - h + 1, image.shape[1] - w + 1, image.shape[2] - c + 1];
        // limit-1 dimensions take offset 0 without a draw
        const [oy, ox, oc] = limits.map((limit) => (limit === 1 ? 0 : (offsets.shift() as number)));
        expect(offsets).toEqual([]);
        expect([oy, ox, oc].every((o, i) => o >= 0 && o < limits[i])).toBe(true);
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape).toEqual([h, w, c]);
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            for (let k = 0; k < c; k++) expect(at(out, y, x, k)).toBe(at(image, oy + y, ox + x, oc + k));
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('is reproducible: the same rng state gives the same crop (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ image, size, seed }) => {
        expect(randomCrop(image, size, new CounterRng(seed, 'test'))).toEqual(
          randomCrop(image, size, new CounterRng(seed, 'test')),
        );
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
    const out = randomCrop(image, [1, 1, 4], rng);
    expect(out).toEqual(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
    expect(rng.limits).toEqual([]);
  });

  it('offsets are uniform over 0..limit-1 in every dimension (chi-square, p = 1e-6 bounds)', () => {
    // 6x9x4 image, 2x2x2 crop: limits 5 (rows), 8 (columns), 3 (channels).
    const image = indexImage(6, 9, 4);
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
    const e = errorOf(() => randomCrop(bad, [1, 1], recording()));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(/^randomCrop: Expected a uint8 or float32 image tensor/);
  });

  it.each([
    [24, 'received 24'],
    [[24], 'received \\[24\\]'],
    [[1, 1, 1, 1], 'received \\[1,1,1,1\\]'],
    [[1, -1], 'received \\[1,-1\\]'],
    [[1, 1.5, 1], 'received \\[1,1.5,1\\]'],
    [[1, '1'], 'received \\[1,"1"\\]'],
  ])('rejects a malformed size %j', (size, received) => {
    const e = errorOf(() =>
      randomCrop(indexImage(4, 4, 3), size as unknown as [number, number], recording()),
    );
    expect(e.parameter).toBe('size');
    expect(e.message).toMatch(
      new RegExp(
        `^randomCrop: Expected \\[height, width\\] or \\[height, width, channels\\] of non-negative integers for size but ${received}$`,
      ),
    );
  });

  it.each([[[5, 4, 3]], [[4, 5]], [[4, 4, 4]]])(
    'rejects a size larger than the image (Need value.shape >= size): %j',
    (size) => {
      const rng = recording();
      const e = errorOf(() => randomCrop(indexImage(4, 4, 3), size as [number, number], rng));
      expect(e.parameter).toBe('size');
      expect(e.message).toContain(
        'Expected a size no larger than the image shape [4, 4, 3] (Need value.shape >= size) for size',
      );
      expect(rng.limits).toEqual([]);
    },
  );
});
