import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import { gaussianNoise } from '../../src/image/gaussian-noise.js';
import type { Image } from '../../src/image/image.js';
import { expectReproducible, expectRngRejected, f32, meanAndStd, u8 } from '../helpers/image.js';

const zeros = (h: number, w: number, c: number) => f32([h, w, c], new Array(h * w * c).fill(0));

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

describe('gaussianNoise on float32 images', () => {
  it('has the requested mean and std (30 000 samples)', () => {
    const out = gaussianNoise(zeros(100, 100, 3), 2, new CounterRng(1, 'test'), { mean: 1 });
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([100, 100, 3]);
    const { mean, std } = meanAndStd(out.data);
    // Standard errors: 2/√30000 ≈ 0.012 for the mean, 2/√60000 ≈ 0.008 for the std.
    expect(Math.abs(mean - 1)).toBeLessThan(0.07);
    expect(Math.abs(std - 2)).toBeLessThan(0.05);
  });

  it('is normally distributed: bucket frequencies match the normal CDF', () => {
    const n = 30000;
    const out = gaussianNoise(zeros(100, 100, 3), 1, new CounterRng(2, 'test')).data;
    const edges = [-Infinity, -2, -1, -0.5, 0, 0.5, 1, 2, Infinity];
    const counts = new Array(edges.length - 1).fill(0);
    for (const v of out) counts[edges.findIndex((e, k) => v >= e && v < edges[k + 1])]++;
    let chi2 = 0;
    for (let k = 0; k < counts.length; k++) {
      const expected = n * (normalCdf(edges[k + 1]) - normalCdf(edges[k]));
      chi2 += (counts[k] - expected) ** 2 / expected;
    }
    // Chi-square, 7 degrees of freedom: the p = 1e-6 critical value is 40.5.
    expect(chi2).toBeLessThan(40.5);
  });

  it('draws independent values: neighbours (including each Box-Muller pair) are uncorrelated', () => {
    const out = gaussianNoise(zeros(100, 100, 2), 1, new CounterRng(3, 'test')).data;
    let pairs = 0;
    let neighbours = 0;
    for (let i = 0; i + 1 < out.length; i++) {
      if (i % 2 === 0) pairs += out[i] * out[i + 1];
      else neighbours += out[i] * out[i + 1];
    }
    // Each correlation has standard error 1/√10000 = 0.01.
    expect(Math.abs(pairs / (out.length / 2))).toBeLessThan(0.05);
    expect(Math.abs(neighbours / (out.length / 2 - 1))).toBeLessThan(0.05);
  });

  it('adds noise to the pixel values without clipping', () => {
    const image = f32([50, 50, 1], new Array(2500).fill(1));
    const out = gaussianNoise(image, 0.5, new CounterRng(4, 'test')).data;
    expect(Math.max(...out)).toBeGreaterThan(1.5);
    expect(Math.min(...out)).toBeLessThan(0.5);
    expect(Math.abs(meanAndStd(out).mean - 1)).toBeLessThan(0.05);
  });

  it('only shifts by mean when stddev is 0', () => {
    const out = gaussianNoise(f32([1, 3, 1], [0.5, -2, 300]), 0, new CounterRng(5, 'test'), { mean: 0.25 });
    expect(Array.from(out.data)).toEqual([0.75, -1.75, 300.25]);
    const same = gaussianNoise(f32([1, 2, 1], [0.1, 0.2]), 0, new CounterRng(5, 'test'));
    expect(Array.from(same.data)).toEqual(Array.from(Float32Array.from([0.1, 0.2])));
  });
});

describe('gaussianNoise on uint8 images', () => {
  it('rounds to the nearest level and saturates', () => {
    // stddev 0 isolates the rounding: 100 + 2.4 → 102, 100 + 2.6 → 103; 250 + 10 → 255; 5 − 10 → 0.
    const rng = new CounterRng(6, 'test');
    expect(Array.from(gaussianNoise(u8([1, 1, 1], [100]), 0, rng, { mean: 2.4 }).data)).toEqual([102]);
    expect(Array.from(gaussianNoise(u8([1, 1, 1], [100]), 0, rng, { mean: 2.6 }).data)).toEqual([103]);
    expect(Array.from(gaussianNoise(u8([1, 1, 1], [250]), 0, rng, { mean: 10 }).data)).toEqual([255]);
    expect(Array.from(gaussianNoise(u8([1, 1, 1], [5]), 0, rng, { mean: -10 }).data)).toEqual([0]);
  });

  it('adds noise in pixel levels: mean and std of a mid-grey image', () => {
    const out = gaussianNoise(u8([100, 100, 1], new Array(10000).fill(128)), 10, new CounterRng(7, 'test'));
    expect(out.dtype).toBe('uint8');
    const { mean, std } = meanAndStd(out.data);
    // Rounding adds a variance of 1/12 to 100; standard errors ≈ 0.1 (mean), 0.07 (std).
    expect(Math.abs(mean - 128)).toBeLessThan(0.5);
    expect(Math.abs(std - Math.sqrt(100 + 1 / 12))).toBeLessThan(0.35);
  });

  it('saturates at 255: the share of 255s matches P(x + noise ≥ 254.5)', () => {
    const n = 10000;
    const out = gaussianNoise(u8([100, 100, 1], new Array(n).fill(250)), 5, new CounterRng(8, 'test')).data;
    const share = out.filter((v) => v === 255).length / n;
    const expected = 1 - normalCdf((254.5 - 250) / 5);
    // Binomial standard error √(p(1−p)/n) ≈ 0.004.
    expect(Math.abs(share - expected)).toBeLessThan(0.025);
    expect(Math.min(...out)).toBeLessThan(240);
  });
});

describe('gaussianNoise determinism', () => {
  it('gives the same noise for the same rng state and different noise for another seed', () => {
    const image = u8([4, 4, 3], new Array(48).fill(128));
    const a = expectReproducible(9, (rng) => gaussianNoise(image, 20, rng));
    const c = gaussianNoise(image, 20, new CounterRng(10, 'test'));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });

  it('takes the same number of draws for the same size, whatever the parameters (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.constantFrom<'uint8' | 'float32'>('uint8', 'float32'),
        (n, stddev, dtype) => {
          const image: Image =
            dtype === 'uint8' ? u8([1, n, 1], new Array(n).fill(9)) : f32([1, n, 1], new Array(n).fill(9));
          const rng = new CounterRng(11, 'test');
          const reference = new CounterRng(11, 'test');
          gaussianNoise(image, stddev, rng);
          gaussianNoise(f32([1, n, 1], new Array(n).fill(0)), 1, reference, { mean: 3 });
          expect(rng.nextUint32()).toBe(reference.nextUint32());
        },
      ),
    );
  });

  it('handles 1x1, odd sizes and empty images, and never mutates its input', () => {
    const image = f32([1, 1, 1], [0.5]);
    const out = gaussianNoise(image, 1, new CounterRng(12, 'test'));
    expect(out.shape).toEqual([1, 1, 1]);
    expect(out.data[0]).not.toBe(0.5);
    expect(Array.from(image.data)).toEqual([0.5]);
    expect(gaussianNoise(f32([1, 3, 1], [0, 0, 0]), 1, new CounterRng(12, 'test')).data.length).toBe(3);
    expect(gaussianNoise(u8([0, 3, 3], []), 1, new CounterRng(12, 'test')).shape).toEqual([0, 3, 3]);
  });
});

describe('gaussianNoise errors', () => {
  const image = f32([1, 1, 1], [0]);
  const rng = new CounterRng(1, 'test');

  it('rejects a negative, non-finite or non-number stddev', () => {
    expect(() => gaussianNoise(image, -1, rng)).toThrow(
      'gaussianNoise: Expected a non-negative finite number for stddev but received -1',
    );
    for (const stddev of [Number.NaN, Infinity, '1' as unknown as number]) {
      expect(() => gaussianNoise(image, stddev, rng)).toThrow(InvalidArgumentError);
    }
  });

  it('rejects a non-finite or non-number mean', () => {
    for (const mean of [Number.NaN, -Infinity, null as unknown as number]) {
      expect(() => gaussianNoise(image, 1, rng, { mean })).toThrow(
        /^gaussianNoise: Expected a finite number for mean/,
      );
    }
  });

  it('rejects options that are not an object', () => {
    expect(() => gaussianNoise(image, 1, rng, 3 as unknown as object)).toThrow(
      'gaussianNoise: Expected an options object for options but received 3',
    );
  });

  it('rejects a non-image', () => {
    expect(() => gaussianNoise([1, 2, 3] as unknown as Image, 1, rng)).toThrow(
      /^gaussianNoise: Expected a uint8 or float32 image tensor/,
    );
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('gaussianNoise', (rng) => gaussianNoise(image, 1, rng));
  });
});
