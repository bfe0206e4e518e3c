import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Image } from '../../src/image/image.js';
import type { ResizeOptions } from '../../src/image/resize-bilinear.js';
import { resizeNearestNeighbor } from '../../src/image/resize-nearest-neighbor.js';
import { RESIZE_FLAGS, randomImage, sides, toTf, useTfCpu } from '../helpers/image.js';

useTfCpu();

function tfResize(image: Image, size: [number, number], o: ResizeOptions): ArrayLike<number> {
  return tf.tidy(() =>
    tf.image
      .resizeNearestNeighbor(toTf(image), size, o.alignCorners ?? false, o.halfPixelCenters ?? false)
      .dataSync(),
  );
}

/**
 * True where the exact source coordinate of output index `d` sits on a rounding boundary (an integer for
 * floor, a half-integer for round). There TF's float32 and tfjs's float64 arithmetic may land on
 * different sides; everywhere else they must pick the same source pixel.
 */
function onBoundary(d: number, inSize: number, outSize: number, o: ResizeOptions): boolean {
  if (o.alignCorners && outSize > 1) {
    const twice = 2 * d * (inSize - 1); // 2·src = twice / (out − 1)
    return twice % (outSize - 1) === 0 && (twice / (outSize - 1)) % 2 === 1;
  }
  if (o.alignCorners) return false; // one output: d = 0, src = 0
  if (o.halfPixelCenters) return ((2 * d + 1) * inSize) % (2 * outSize) === 0;
  return (d * inSize) % outSize === 0 && d > 0;
}

describe('resizeNearestNeighbor agrees with tf.image.resizeNearestNeighbor (cpu)', () => {
  it('random images, sizes and flags (up- and down-sampling, 1 and 3 channels)', () => {
    let compared = 0;
    fc.assert(
      fc.property(
        sides(12),
        sides(20),
        fc.constantFrom(1, 3),
        fc.constantFrom(...RESIZE_FLAGS),
        fc.constantFrom('uint8' as const, 'float32' as const),
        fc.nat(),
        ([h, w], [oh, ow], c, flags, dtype, seed) => {
          const image = randomImage(dtype, h, w, c, seed);
          const out = resizeNearestNeighbor(image, [oh, ow], flags);
          expect(out.dtype).toBe(dtype);
          expect(out.shape).toEqual([oh, ow, c]);
          const expected = tfResize(image, [oh, ow], flags);
          for (let y = 0; y < oh; y++) {
            if (onBoundary(y, h, oh, flags)) continue;
            for (let x = 0; x < ow; x++) {
              if (onBoundary(x, w, ow, flags)) continue;
              for (let k = 0; k < c; k++) {
                const i = (y * ow + x) * c + k;
                expect(Math.abs(out.data[i] - expected[i])).toBeLessThan(1e-4);
                compared++;
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
    // The boundary exclusion must leave most of the outputs compared.
    expect(compared).toBeGreaterThan(5000);
  });

  it('fixed cases agree everywhere (no boundary rows or columns)', () => {
    const cases: [[number, number, number], [number, number]][] = [
      [
        [4, 6, 3],
        [9, 13],
      ],
      [
        [11, 9, 1],
        [4, 5],
      ],
      [
        [7, 5, 3],
        [3, 11],
      ],
    ];
    for (const flags of RESIZE_FLAGS) {
      for (const [[h, w, c], size] of cases) {
        const image = randomImage('float32', h, w, c, h + w);
        const out = resizeNearestNeighbor(image, size, flags);
        expect(Array.from(out.data)).toEqual(Array.from(tfResize(image, size, flags)));
      }
    }
  });
});

describe('resizeNearestNeighbor index rules', () => {
  /** A one-column image whose rows hold their own index. */
  function rowIndexImage(h: number): Image<'uint8'> {
    return { dtype: 'uint8', shape: [h, 1, 1], data: Uint8Array.from({ length: h }, (_, i) => i) };
  }
  const rowsPicked = (h: number, oh: number, o: ResizeOptions) =>
    Array.from(resizeNearestNeighbor(rowIndexImage(h), [oh, 1], o).data);

  it('4 -> 2 rows: legacy floor(d·2), half-pixel floor((d + 0.5)·2), align round(d·3)', () => {
    expect(rowsPicked(4, 2, {})).toEqual([0, 2]);
    expect(rowsPicked(4, 2, { halfPixelCenters: true })).toEqual([1, 3]);
    expect(rowsPicked(4, 2, { alignCorners: true })).toEqual([0, 3]);
  });

  it('3 -> 7 rows: indices stay within the input', () => {
    // legacy: floor(d·3/7); half: floor((d + 0.5)·3/7); align: round(d·2/6), halves rounding up.
    expect(rowsPicked(3, 7, {})).toEqual([0, 0, 0, 1, 1, 2, 2]);
    expect(rowsPicked(3, 7, { halfPixelCenters: true })).toEqual([0, 0, 1, 1, 1, 2, 2]);
    expect(rowsPicked(3, 7, { alignCorners: true })).toEqual([0, 0, 1, 1, 1, 2, 2]);
  });

  it('computes the source coordinate in float32 as TF does (2 -> 82 rows, row 41)', () => {
    // Exactly 41·2/82 = 1, but TF's float32 product falls just below 1, so it floors to row 0
    // (tfjs, in float64, reads row 1).
    expect(Math.fround(41 * Math.fround(2 / 82))).toBeLessThan(1);
    const rows = rowsPicked(2, 82, {});
    expect(rows[41]).toBe(0);
    expect(rows[42]).toBe(1);
  });

  it('the same size is the identity, keeping the dtype', () => {
    for (const flags of RESIZE_FLAGS) {
      for (const dtype of ['uint8', 'float32'] as const) {
        const image = randomImage(dtype, 5, 8, 3, 2);
        const out = resizeNearestNeighbor(image, [5, 8], flags);
        expect(out.dtype).toBe(dtype);
        expect(out.data).toEqual(image.data);
        expect(out.data).not.toBe(image.data);
      }
    }
  });

  it('a 1x1 image becomes a constant image; a 1x1 output with alignCorners reads the top-left pixel', () => {
    const one: Image<'float32'> = { dtype: 'float32', shape: [1, 1, 1], data: Float32Array.of(3.5) };
    expect(Array.from(resizeNearestNeighbor(one, [2, 3]).data)).toEqual([3.5, 3.5, 3.5, 3.5, 3.5, 3.5]);
    const image = randomImage('float32', 4, 4, 1, 9);
    expect(resizeNearestNeighbor(image, [1, 1], { alignCorners: true }).data[0]).toBe(image.data[0]);
  });
});

describe('resizeNearestNeighbor properties', () => {
  it('every output pixel is a copy of an input pixel (all channels together), shapes right', () => {
    fc.assert(
      fc.property(
        sides(8),
        sides(14),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(...RESIZE_FLAGS),
        fc.nat(),
        ([h, w], [oh, ow], c, flags, seed) => {
          const image = randomImage('float32', h, w, c, seed);
          const out = resizeNearestNeighbor(image, [oh, ow], flags);
          expect(out.shape).toEqual([oh, ow, c]);
          const pixels = new Set<string>();
          for (let i = 0; i < h * w; i++)
            pixels.add(Array.from(image.data.subarray(i * c, i * c + c)).join());
          for (let i = 0; i < oh * ow; i++) {
            expect(pixels.has(Array.from(out.data.subarray(i * c, i * c + c)).join())).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a constant image stays constant', () => {
    fc.assert(
      fc.property(
        sides(9),
        sides(14),
        fc.constantFrom(...RESIZE_FLAGS),
        fc.integer({ min: 0, max: 255 }),
        ([h, w], [oh, ow], flags, value) => {
          const data = new Uint8Array(h * w).fill(value);
          const out = resizeNearestNeighbor({ dtype: 'uint8', shape: [h, w, 1], data }, [oh, ow], flags);
          expect(out.data.every((v) => v === value)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('resizeNearestNeighbor errors', () => {
  const image = randomImage('uint8', 3, 3, 1, 1);

  it.each([[5], [[4]], [[0, 4]], [[4, -1]], [[1.5, 2]], [[Number.NaN, 2]], [[4, 4, 4]]])(
    'rejects size %j',
    (size) => {
      expect(() => resizeNearestNeighbor(image, size as unknown as [number, number])).toThrow(
        /^resizeNearestNeighbor: Expected an array \[newHeight, newWidth\] of two positive integers for size/,
      );
    },
  );

  it('rejects alignCorners together with halfPixelCenters, and non-boolean flags', () => {
    expect(() =>
      resizeNearestNeighbor(image, [2, 2], { alignCorners: true, halfPixelCenters: true }),
    ).toThrow(
      'resizeNearestNeighbor: Expected false when alignCorners is true for halfPixelCenters but received true',
    );
    expect(() => resizeNearestNeighbor(image, [2, 2], { alignCorners: 'no' as unknown as boolean })).toThrow(
      InvalidArgumentError,
    );
  });

  it('rejects a non-image', () => {
    expect(() =>
      resizeNearestNeighbor(
        { dtype: 'uint8', shape: [9], data: new Uint8Array(9) } as unknown as Image,
        [2, 2],
      ),
    ).toThrow(/^resizeNearestNeighbor: Expected a uint8 or float32 image tensor/);
  });
});
