import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Image } from '../../src/image/image.js';
import { perImageStandardization } from '../../src/image/per-image-standardization.js';
import { f32, imageArb, meanAndStd, u8, useTfCpu } from '../helpers/image.js';

const shape = { channels: fc.integer({ min: 1, max: 4 }) };
const uint8Image = imageArb({ ...shape, dtypes: ['uint8'] });
const floatImage = imageArb({ ...shape, dtypes: ['float32'], min: -100, max: 100 });

/** TF1's per_image_standardization composed from tfjs ops on the cpu backend. */
function tfjsStandardization(image: Image): Float32Array {
  return tf.tidy(() => {
    const n = image.data.length;
    const x = tf.tensor3d(Float32Array.from(image.data), image.shape as [number, number, number], 'float32');
    const mean = tf.mean(x);
    const variance = tf.relu(tf.sub(tf.mean(tf.square(x)), tf.square(mean)));
    const scale = tf.maximum(tf.sqrt(variance), tf.rsqrt(tf.scalar(n, 'float32')));
    return tf.div(tf.sub(x, mean), scale).dataSync() as Float32Array;
  });
}

useTfCpu();

describe('perImageStandardization', () => {
  it('subtracts the mean and divides by the population std: [0, 2] → [−1, 1]', () => {
    // mean 1, mean(x²) = 2, var = 2 − 1 = 1.
    for (const image of [f32([1, 2, 1], [0, 2]), u8([1, 2, 1], [0, 2])]) {
      const out = perImageStandardization(image);
      expect(out.dtype).toBe('float32');
      expect(out.shape).toEqual([1, 2, 1]);
      expect(Array.from(out.data)).toEqual([-1, 1]);
    }
  });

  it('standardises over pixels and channels together', () => {
    // [1, 2, 3, 4] as 1x2x2: mean 2.5, var 7.5 − 6.25 = 1.25, std √1.25.
    const out = perImageStandardization(f32([1, 2, 2], [1, 2, 3, 4])).data;
    const std = Math.sqrt(1.25);
    [1, 2, 3, 4].forEach((x, i) => {
      expect(out[i]).toBeCloseTo((x - 2.5) / std, 6);
    });
  });

  it('casts uint8 without scaling, as TF1 does', () => {
    const out = perImageStandardization(u8([1, 1, 3], [0, 100, 200])).data;
    // mean 100, var (10000 + 0 + 10000)/3, std 81.65: (0 − 100)/81.65 = −1.2247.
    expect(out[0]).toBeCloseTo(-100 / Math.sqrt(20000 / 3), 5);
    expect(out[1]).toBe(0);
    expect(out[2]).toBeCloseTo(100 / Math.sqrt(20000 / 3), 5);
  });

  it('divides by 1/√N when the std is smaller', () => {
    // [0, 0, 0, 0.01]: mean 0.0025, std 0.0043 < 1/√4 = 0.5, so out = (x − 0.0025)/0.5.
    const out = perImageStandardization(f32([2, 2, 1], [0, 0, 0, 0.01])).data;
    expect(out[0]).toBeCloseTo(-0.005, 7);
    expect(out[3]).toBeCloseTo(0.015, 7);
  });

  it('maps a uniform image to zeros', () => {
    for (const image of [
      u8([1, 1, 1], [7]),
      u8([3, 3, 3], new Array(27).fill(255)),
      f32([2, 5, 4], new Array(40).fill(0.3)),
      f32([1, 3, 1], [-7.5, -7.5, -7.5]),
    ]) {
      expect(Array.from(perImageStandardization(image).data)).toEqual(new Array(image.data.length).fill(0));
    }
  });

  it('gives mean ≈ 0 and std ≈ 1 unless the std is below 1/√N (property)', () => {
    fc.assert(
      fc.property(fc.oneof(uint8Image, floatImage), (image) => {
        const before = meanAndStd(image.data);
        const after = meanAndStd(perImageStandardization(image).data);
        const floor = 1 / Math.sqrt(image.data.length);
        const scale = Math.max(before.std, floor);
        expect(Math.abs(after.mean)).toBeLessThan(1e-4);
        // std 1, or less when the 1/√N floor is the divisor. TF's one-pass variance in float32 is off by
        // about 2^-23·mean(x²), which matters only when the mean is large against the spread.
        const meanOfSquares = before.std ** 2 + before.mean ** 2;
        const tolerance = 1e-3 + (2 ** -22 * meanOfSquares) / scale ** 2;
        expect(Math.abs(after.std - before.std / scale)).toBeLessThan(tolerance);
      }),
    );
  });

  it('matches TF1 composed from tfjs ops within 1e-4 on random uint8 and float images (property)', () => {
    fc.assert(
      fc.property(fc.oneof(uint8Image, floatImage), (image) => {
        const out = perImageStandardization(image).data;
        const expected = tfjsStandardization(image);
        for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThan(1e-4);
      }),
      { numRuns: 60 },
    );
  });

  it('matches tfjs on a full CIFAR-sized image', () => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + ((i * i) % 251)) % 256;
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [32, 32, 3], data };
    const out = perImageStandardization(image).data;
    const expected = tfjsStandardization(image);
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThan(1e-4);
  });

  it('handles 4 channels and never mutates its input', () => {
    const image = f32([1, 1, 4], [1, 2, 3, 4]);
    const out = perImageStandardization(image);
    expect(out.shape).toEqual([1, 1, 4]);
    expect(Array.from(image.data)).toEqual([1, 2, 3, 4]);
    expect(out.data).not.toBe(image.data);
  });

  it('returns an empty float32 image for an empty input', () => {
    const out = perImageStandardization(u8([0, 4, 3], []));
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([0, 4, 3]);
    expect(out.data.length).toBe(0);
  });

  it('rejects a non-image', () => {
    const bad = () =>
      perImageStandardization({ dtype: 'float64', shape: [1, 1, 1], data: new Float64Array(1) } as never);
    expect(bad).toThrow(InvalidArgumentError);
    expect(bad).toThrow(/^perImageStandardization: Expected a uint8 or float32 image tensor/);
  });
});
