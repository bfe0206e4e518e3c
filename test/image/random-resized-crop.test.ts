import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import { crop } from '../../src/image/crop.js';
import type { Image, Random } from '../../src/image/image.js';
import {
  type CropBox,
  randomResizedCrop,
  sampleResizedCropBox,
} from '../../src/image/random-resized-crop.js';
import { resizeBilinear } from '../../src/image/resize-bilinear.js';
import { resizeNearestNeighbor } from '../../src/image/resize-nearest-neighbor.js';

/** A Random whose uniformFloat32 answers come from `uniforms` and whose `below` calls are recorded. */
function scripted(uniforms: number[], belows: number[] = []): Random & { limits: number[]; draws: number } {
  const limits: number[] = [];
  const r = {
    limits,
    draws: 0,
    nextUint32: () => 0,
    uniform: () => 0,
    uniformFloat32() {
      r.draws++;
      const u = uniforms.shift();
      if (u === undefined) throw new Error('script ran out of uniforms');
      return u;
    },
    below(n: number) {
      limits.push(n);
      return belows.length > 0 ? (belows.shift() as number) : 0;
    },
  };
  return r;
}

function image(height: number, width: number, channels: number, dtype: 'uint8' | 'float32'): Image {
  const n = height * width * channels;
  const data = dtype === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 37) % 251;
  return { dtype, shape: [height, width, channels], data } as Image;
}

function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

/** Upper critical values of chi-square at p = 1e-6 (regularized-gamma inverse). */
const CHI2_P1E6 = { 4: 33.38, 9: 44.81, 10: 46.86 } as const;

function expectInside(box: CropBox, height: number, width: number): void {
  expect(Number.isInteger(box.top) && Number.isInteger(box.left)).toBe(true);
  expect(box.height).toBeGreaterThanOrEqual(1);
  expect(box.width).toBeGreaterThanOrEqual(1);
  expect(box.top).toBeGreaterThanOrEqual(0);
  expect(box.left).toBeGreaterThanOrEqual(0);
  expect(box.top + box.height).toBeLessThanOrEqual(height);
  expect(box.left + box.width).toBeLessThanOrEqual(width);
}

function errorOf(call: () => unknown): InvalidArgumentError {
  try {
    call();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('sampleResizedCropBox', () => {
  it('computes the box from the two draws as torchvision does (area fraction, log-uniform ratio)', () => {
    // u = 0.5 for both: s = 0.08 + 0.92/2 = 0.54, log r = 0 -> r = 1 (up to float32 rounding).
    const rng = scripted([0.5, 0.5], [7, 11]);
    const box = sampleResizedCropBox(150, 200, rng);
    const f = Math.fround;
    const s = f(f(0.08) + f(f(f(1) - f(0.08)) * 0.5));
    const lo = f(Math.log(3 / 4));
    const r = f(Math.exp(f(lo + f(f(f(Math.log(4 / 3)) - lo) * 0.5))));
    const w = Math.round(Math.sqrt(30_000 * s * r));
    const h = Math.round(Math.sqrt((30_000 * s) / r));
    expect(box).toEqual({ top: 7, left: 11, height: h, width: w });
    // The offsets are drawn top first, each over every position that fits.
    expect(rng.limits).toEqual([150 - h + 1, 200 - w + 1]);
    expect(rng.draws).toBe(2);
  });

  it('rounds halves to even, as Python round() does', () => {
    // 5x5 image, s = 0.25, r = 1: side = sqrt(6.25) = 2.5 -> 2 (Math.round would give 3).
    expect(
      sampleResizedCropBox(5, 5, scripted([0, 0]), { scale: [0.25, 0.25], ratio: [1, 1] }),
    ).toMatchObject({
      height: 2,
      width: 2,
    });
    // 7x7 image: sqrt(12.25) = 3.5 -> 4.
    expect(
      sampleResizedCropBox(7, 7, scripted([0, 0]), { scale: [0.25, 0.25], ratio: [1, 1] }),
    ).toMatchObject({
      height: 4,
      width: 4,
    });
  });

  it('retries a box that does not fit and accepts the next one that does', () => {
    // Attempt 1: full area at ratio 4/3 is wider than the square image; attempt 2: s = 0.08, r = 3/4.
    const rng = scripted([0.999, 0.999, 0, 0]);
    const box = sampleResizedCropBox(100, 100, rng);
    expect(rng.draws).toBe(4);
    expect(rng.limits).toHaveLength(2);
    expect(box.width).toBe(Math.round(Math.sqrt(800 * Math.fround(Math.exp(Math.fround(Math.log(0.75)))))));
    expectInside(box, 100, 100);
  });

  it('after 10 failed attempts falls back to a central crop clamped to the ratio range', () => {
    // Ratios 5..6 never fit a square image: the box keeps the full width at ratio 5.
    const narrow = scripted(Array(20).fill(0.5));
    expect(sampleResizedCropBox(100, 100, narrow, { scale: [0.9, 1], ratio: [5, 6] })).toEqual({
      top: 40,
      left: 0,
      height: 20,
      width: 100,
    });
    expect(narrow.draws).toBe(20);
    expect(narrow.limits).toEqual([]);
    // Ratios 0.1..0.2: full height at ratio 0.2, centred horizontally (floor of the half).
    expect(
      sampleResizedCropBox(100, 101, scripted(Array(20).fill(0.5)), { scale: [0.9, 1], ratio: [0.1, 0.2] }),
    ).toEqual({ top: 0, left: 40, height: 100, width: 20 });
    // Image ratio within range but the area can never fit (scale > 1): the whole image.
    expect(sampleResizedCropBox(30, 40, new CounterRng(1, 'test'), { scale: [2, 3] })).toEqual({
      top: 0,
      left: 0,
      height: 30,
      width: 40,
    });
  });

  it('keeps the fallback box at least one pixel wide', () => {
    expect(
      sampleResizedCropBox(10, 1, new CounterRng(2, 'test'), { scale: [1, 1], ratio: [100, 200] }),
    ).toEqual({
      top: 4,
      left: 0,
      height: 1,
      width: 1,
    });
  });

  it('always returns a box inside the image, within the ranges up to rounding (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 600 }),
        fc.tuple(fc.double({ min: 0, max: 1.5, noNaN: true }), fc.double({ min: 0, max: 1.5, noNaN: true })),
        fc.tuple(
          fc.double({ min: 0.05, max: 20, noNaN: true }),
          fc.double({ min: 0.05, max: 20, noNaN: true }),
        ),
        fc.nat(),
        (height, width, s, r, seed) => {
          const scale = [Math.min(...s), Math.max(Math.max(...s), 1e-3)] as const;
          const ratio = [Math.min(...r), Math.max(...r)] as const;
          const box = sampleResizedCropBox(height, width, new CounterRng(seed, 'test'), { scale, ratio });
          expectInside(box, height, width);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with the defaults, box areas and ratios stay within [0.08, 1] and [3/4, 4/3] up to rounding', () => {
    for (let i = 0; i < 2000; i++) {
      const box = sampleResizedCropBox(375, 500, new CounterRng(3, 'test', i));
      expectInside(box, 375, 500);
      const { height: h, width: w } = box;
      // Rounding each side by at most 0.5 moves the area and the log-ratio by at most this much.
      const area = (w * h) / (375 * 500);
      expect(area).toBeGreaterThanOrEqual(0.08 * (1 - 0.5 / w) * (1 - 0.5 / h) - 1e-9);
      expect(Math.abs(Math.log(w / h))).toBeLessThanOrEqual(Math.log(4 / 3) + 1 / w + 1 / h);
    }
  });

  it('draws the area fraction uniformly over scale (chi-square over 5 bins, p = 1e-6 bound)', () => {
    const n = 5000;
    const counts = [0, 0, 0, 0, 0];
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const box = sampleResizedCropBox(1000, 1000, new CounterRng(4, 'test', i), {
        scale: [0.1, 0.2],
        ratio: [1, 1],
      });
      const s = (box.width * box.height) / 1e6;
      expect(s).toBeGreaterThan(0.1 - 0.0007);
      expect(s).toBeLessThan(0.2 + 0.0007);
      sum += s;
      counts[Math.min(4, Math.max(0, Math.floor((s - 0.1) / 0.02)))]++;
    }
    expect(chiSquare(counts)).toBeLessThan(CHI2_P1E6[4]);
    // Mean 0.15; the sd of the mean is 0.1/sqrt(12 n) = 0.0004.
    expect(Math.abs(sum / n - 0.15)).toBeLessThan(0.003);
  });

  it('draws the log aspect ratio uniformly over log(ratio) (chi-square over 10 bins, p = 1e-6 bound)', () => {
    const n = 5000;
    const lo = Math.log(0.5);
    const span = Math.log(2) - lo;
    const counts = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      // Area 1% of a 1000x1000 image: every ratio in [1/2, 2] fits, so no draw is rejected.
      const box = sampleResizedCropBox(1000, 1000, new CounterRng(5, 'test', i), {
        scale: [0.01, 0.01],
        ratio: [0.5, 2],
      });
      const t = (Math.log(box.width / box.height) - lo) / span;
      expect(t).toBeGreaterThan(-0.02);
      expect(t).toBeLessThan(1.02);
      counts[Math.min(9, Math.max(0, Math.floor(t * 10)))]++;
    }
    expect(chiSquare(counts)).toBeLessThan(CHI2_P1E6[9]);
  });

  it('places a box of fixed size uniformly (chi-square over the 11 top and left offsets)', () => {
    const tops = new Array(11).fill(0);
    const lefts = new Array(11).fill(0);
    for (let i = 0; i < 3300; i++) {
      const box = sampleResizedCropBox(20, 20, new CounterRng(6, 'test', i), {
        scale: [0.25, 0.25],
        ratio: [1, 1],
      });
      expect([box.height, box.width]).toEqual([10, 10]);
      tops[box.top]++;
      lefts[box.left]++;
    }
    expect(chiSquare(tops)).toBeLessThan(CHI2_P1E6[10]);
    expect(chiSquare(lefts)).toBeLessThan(CHI2_P1E6[10]);
  });

  it('is deterministic: the same rng state gives the same box, other states other boxes', () => {
    const boxes = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const a = sampleResizedCropBox(240, 320, new CounterRng(9, 'test', i));
      const b = sampleResizedCropBox(240, 320, new CounterRng(9, 'test', i));
      expect(a).toEqual(b);
      boxes.add(JSON.stringify(a));
    }
    expect(boxes.size).toBeGreaterThan(40);
  });

  it('rejects bad sizes and options, naming the parameter', () => {
    const rng = new CounterRng(1, 'test');
    for (const bad of [0, -1, 1.5, Number.NaN, '3', undefined]) {
      expect(errorOf(() => sampleResizedCropBox(bad as number, 10, rng)).parameter).toBe('imageHeight');
      expect(errorOf(() => sampleResizedCropBox(10, bad as number, rng)).parameter).toBe('imageWidth');
    }
    expect(errorOf(() => sampleResizedCropBox(0, 10, rng)).message).toBe(
      'sampleResizedCropBox: Expected a positive integer for imageHeight but received 0',
    );
    for (const scale of [
      [0.5],
      [0.1, 0.2, 0.3],
      [-0.1, 1],
      [0, Number.POSITIVE_INFINITY],
      [0, Number.NaN],
      0.5,
      [0, 0],
    ]) {
      expect(errorOf(() => sampleResizedCropBox(10, 10, rng, { scale: scale as never })).parameter).toBe(
        'scale',
      );
    }
    expect(errorOf(() => sampleResizedCropBox(10, 10, rng, { scale: [0.9, 0.1] })).message).toBe(
      'sampleResizedCropBox: Expected a range with min <= max for scale but received [0.9,0.1]',
    );
    for (const ratio of [[0, 1], [-1, 1], [1, Number.POSITIVE_INFINITY], [2, 1], [1], 'wide']) {
      expect(errorOf(() => sampleResizedCropBox(10, 10, rng, { ratio: ratio as never })).parameter).toBe(
        'ratio',
      );
    }
    expect(errorOf(() => sampleResizedCropBox(10, 10, rng, null as never)).parameter).toBe('options');
  });
});

describe('randomResizedCrop', () => {
  it('is resizeBilinear (half-pixel centres) of the crop at the sampled box, float32', () => {
    for (const [channels, dtype] of [
      [3, 'uint8'],
      [1, 'float32'],
      [4, 'uint8'],
    ] as const) {
      const img = image(37, 53, channels, dtype);
      for (let i = 0; i < 20; i++) {
        const out = randomResizedCrop(img, [24, 16], new CounterRng(10, 'test', i));
        const box = sampleResizedCropBox(37, 53, new CounterRng(10, 'test', i));
        const expected = resizeBilinear(crop(img, box.top, box.left, box.height, box.width), [24, 16], {
          halfPixelCenters: true,
        });
        expect(out.dtype).toBe('float32');
        expect(out.shape).toEqual([24, 16, channels]);
        expect(out.data).toEqual(expected.data);
      }
    }
  });

  it('equals resizeBilinear(crop(box)) bit for bit for any image, box and size (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom(1, 2, 3, 4),
        fc.constantFrom('uint8' as const, 'float32' as const),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.nat(),
        (h, w, c, dtype, oh, ow, seed) => {
          const rng = new CounterRng(seed, 'test', 7);
          const n = h * w * c;
          const data =
            dtype === 'uint8'
              ? Uint8Array.from({ length: n }, () => rng.below(256))
              : Float32Array.from({ length: n }, () => Math.fround((rng.uniform() - 0.5) * 1e3));
          const img = { dtype, shape: [h, w, c], data } as Image;
          const out = randomResizedCrop(img, [oh, ow], new CounterRng(seed, 'test'));
          const box = sampleResizedCropBox(h, w, new CounterRng(seed, 'test'));
          const expected = resizeBilinear(crop(img, box.top, box.left, box.height, box.width), [oh, ow], {
            halfPixelCenters: true,
          });
          expect(out.shape).toEqual([oh, ow, c]);
          expect(out.data).toEqual(expected.data);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps NaN and Infinity where the box is copied at its own size, as TF does', () => {
    const data = new Float32Array([Number.NaN, 1, Number.POSITIVE_INFINITY, 2]);
    const img: Image = { dtype: 'float32', shape: [2, 2, 1], data };
    const out = randomResizedCrop(img, [2, 2], new CounterRng(1, 'test'), { scale: [2, 3] });
    expect(Array.from(out.data)).toEqual([Number.NaN, 1, Number.POSITIVE_INFINITY, 2]);
  });

  it("interpolation 'nearest' picks source pixels (as float32)", () => {
    const img = image(30, 40, 3, 'uint8');
    const out = randomResizedCrop(img, [8, 9], new CounterRng(11, 'test'), { interpolation: 'nearest' });
    const box = sampleResizedCropBox(30, 40, new CounterRng(11, 'test'));
    const expected = resizeNearestNeighbor(crop(img, box.top, box.left, box.height, box.width), [8, 9], {
      halfPixelCenters: true,
    });
    expect(out.dtype).toBe('float32');
    expect(Array.from(out.data)).toEqual(Array.from(expected.data));
  });

  it('a whole-image box at the image size is a float32 copy; the input is untouched', () => {
    const img = image(6, 8, 3, 'uint8');
    const before = Array.from(img.data);
    const out = randomResizedCrop(img, [6, 8], new CounterRng(1, 'test'), { scale: [2, 3] });
    expect(Array.from(out.data)).toEqual(before);
    expect(Array.from(img.data)).toEqual(before);
  });

  it('handles 1x1 images and 1x1 outputs', () => {
    const one: Image = { dtype: 'uint8', shape: [1, 1, 1], data: new Uint8Array([200]) };
    const out = randomResizedCrop(one, [3, 2], new CounterRng(1, 'test'));
    expect(Array.from(out.data)).toEqual([200, 200, 200, 200, 200, 200]);
    const tiny = randomResizedCrop(image(9, 9, 4, 'float32'), [1, 1], new CounterRng(1, 'test'));
    expect(tiny.shape).toEqual([1, 1, 4]);
  });

  it('output values stay within the range of the input (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(1, 3),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.nat(),
        (h, w, c, oh, ow, seed) => {
          const rng = new CounterRng(seed, 'test');
          const data = Uint8Array.from({ length: h * w * c }, () => rng.below(256));
          const img: Image = { dtype: 'uint8', shape: [h, w, c], data };
          const out = randomResizedCrop(img, [oh, ow], new CounterRng(seed, 'test', 1));
          const min = Math.min(...data);
          const max = Math.max(...data);
          for (const v of out.data) {
            expect(v).toBeGreaterThanOrEqual(min - 1e-3);
            expect(v).toBeLessThanOrEqual(max + 1e-3);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('is deterministic for the same rng state', () => {
    const img = image(50, 60, 3, 'uint8');
    const a = randomResizedCrop(img, [20, 20], new CounterRng(12, 'test', 3));
    const b = randomResizedCrop(img, [20, 20], new CounterRng(12, 'test', 3));
    const c = randomResizedCrop(img, [20, 20], new CounterRng(12, 'test', 4));
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
  });

  it('rejects a bad image, size and options, naming the parameter', () => {
    const rng = new CounterRng(1, 'test');
    const img = image(4, 4, 3, 'uint8');
    expect(
      errorOf(() =>
        randomResizedCrop({ dtype: 'uint8', shape: [4, 4], data: new Uint8Array(16) } as never, [2, 2], rng),
      ).parameter,
    ).toBe('image');
    for (const size of [[2], [0, 2], [2, 1.5], [2, -1], 'big', [2, 2, 3]]) {
      expect(errorOf(() => randomResizedCrop(img, size as never, rng)).parameter).toBe('size');
    }
    expect(
      errorOf(() => randomResizedCrop(img, [2, 2], rng, { interpolation: 'bicubic' as never })).message,
    ).toBe(
      "randomResizedCrop: Expected one of 'bilinear', 'nearest' for interpolation but received \"bicubic\"",
    );
    expect(errorOf(() => randomResizedCrop(img, [2, 2], rng, { scale: [1, 0.5] })).parameter).toBe('scale');
    expect(errorOf(() => randomResizedCrop(img, [2, 2], rng, { ratio: [0, 1] })).parameter).toBe('ratio');
    expect(errorOf(() => randomResizedCrop(img, [2, 2], rng, 'x' as never)).parameter).toBe('options');
  });
});
