import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../../src/core/rng.js';
import { cifarEvalTransform } from '../../src/image/cifar-eval-transform.js';
import { distortCifar } from '../../src/image/distort-cifar.js';
import type { Image, Random } from '../../src/image/image.js';

const f = Math.fround;

/** The unfused TF chain, op by op in float32 (TF1 formulas), drawing in the documented order. */
function unfused(
  image: Image<'uint8'>,
  rng: Random,
  size = 24,
  maxDelta = 63,
  lower = 0.2,
  upper = 1.8,
): Float32Array {
  const [H, W] = image.shape;
  const oy = rng.below(H - size + 1);
  const ox = rng.below(W - size + 1);
  const flip = rng.uniformFloat32() < 0.5;
  const delta = f(-maxDelta + f(f(2 * maxDelta) * rng.uniformFloat32()));
  const factor = f(lower + f(f(upper - lower) * rng.uniformFloat32()));
  const n = size * size;
  let x = new Float32Array(n * 3);
  for (let y = 0; y < size; y++)
    for (let c = 0; c < size; c++)
      for (let ch = 0; ch < 3; ch++)
        x[(y * size + c) * 3 + ch] = image.data[((oy + y) * W + ox + c) * 3 + ch];
  if (flip) {
    const flipped = new Float32Array(n * 3);
    for (let y = 0; y < size; y++)
      for (let c = 0; c < size; c++)
        for (let ch = 0; ch < 3; ch++)
          flipped[(y * size + c) * 3 + ch] = x[(y * size + size - 1 - c) * 3 + ch];
    x = flipped;
  }
  for (let i = 0; i < x.length; i++) x[i] = f(x[i] + delta);
  const means = [0, 0, 0];
  for (let i = 0; i < x.length; i++) means[i % 3] += x[i];
  for (let ch = 0; ch < 3; ch++) means[ch] /= n;
  for (let i = 0; i < x.length; i++) x[i] = f(f((x[i] - means[i % 3]) * factor) + means[i % 3]);
  let s = 0;
  let q = 0;
  for (const v of x) {
    s += v;
    q += v * v;
  }
  const mean = s / x.length;
  const adj = Math.max(Math.sqrt(Math.max(q / x.length - mean * mean, 0)), 1 / Math.sqrt(x.length));
  return x.map((v) => (v - mean) / adj);
}

function randomImage(seed: number, h = 32, w = 32): Image<'uint8'> {
  const rng = new CounterRng(seed, 'image');
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.below(256);
  return { dtype: 'uint8', shape: [h, w, 3], data };
}

/** The record layout of an HWC image: label, then R, G, B planes. */
function toRecord(label: number, image: Image<'uint8'>): Uint8Array {
  const rec = new Uint8Array(3073);
  rec[0] = label;
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) rec[1 + c * 1024 + p] = image.data[p * 3 + c];
  return rec;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('distortCifar', () => {
  it('matches the unfused chain within 1e-4 on random images (same draws)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 0, max: 1e6 }),
        (imageSeed, drawSeed) => {
          const image = randomImage(imageSeed);
          const fused = distortCifar()(image, new CounterRng(drawSeed, 'd'));
          const reference = unfused(image, new CounterRng(drawSeed, 'd'));
          expect(fused.shape).toEqual([24, 24, 3]);
          expect(fused.dtype).toBe('float32');
          expect(maxAbsDiff(fused.data, reference)).toBeLessThanOrEqual(1e-4);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('matches on low-contrast and uniform images (the variance floor)', () => {
    for (const fill of [0, 128, 255]) {
      const image = randomImage(1);
      image.data.fill(fill);
      image.data[5] = fill === 255 ? 254 : fill + 1;
      const fused = distortCifar()(image, new CounterRng(3, 'd'));
      expect(maxAbsDiff(fused.data, unfused(image, new CounterRng(3, 'd')))).toBeLessThanOrEqual(1e-4);
    }
  });

  it('decodes and distorts a raw record in the same passes, with the same numbers', () => {
    const image = randomImage(7);
    const out = distortCifar()(toRecord(6, image), new CounterRng(5, 'd'));
    expect(out.label).toBe(6);
    expect(maxAbsDiff(out.image.data, distortCifar()(image, new CounterRng(5, 'd')).data)).toBe(0);
    const hundred = distortCifar({ labelBytes: 2 })(
      Uint8Array.of(3, 77, ...toRecord(0, image).subarray(1)),
      new CounterRng(5, 'd'),
    );
    expect(hundred.label).toBe(77);
    expect(hundred.coarseLabel).toBe(3);
  });

  it('standardizes: mean 0 and standard deviation 1', () => {
    const out = distortCifar()(randomImage(9), new CounterRng(1, 'd')).data;
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    const sd = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / out.length);
    expect(Math.abs(mean)).toBeLessThan(1e-5);
    expect(sd).toBeCloseTo(1, 4);
  });

  it('honours its options (size, maxDelta, contrast) like the unfused chain', () => {
    const image = randomImage(11, 40, 36);
    const fused = distortCifar({ size: 28, maxDelta: 10, contrast: [0.5, 0.6] })(
      image,
      new CounterRng(2, 'd'),
    );
    expect(fused.shape).toEqual([28, 28, 3]);
    expect(
      maxAbsDiff(fused.data, unfused(image, new CounterRng(2, 'd'), 28, 10, 0.5, 0.6)),
    ).toBeLessThanOrEqual(1e-4);
  });

  it('flips about half the images (read from the output of a left-to-right ramp)', () => {
    const ramp: Image<'uint8'> = { dtype: 'uint8', shape: [32, 32, 3], data: new Uint8Array(3072) };
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) ramp.data.fill(x * 8, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
    const d = distortCifar();
    const rng = new CounterRng(4, 'stats');
    let flips = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const out = d(ramp, rng).data;
      // Contrast factors are positive, so the ramp's direction survives: decreasing means flipped.
      if (out[0] > out[3 * 23]) flips++;
    }
    expect(Math.abs(flips / trials - 0.5)).toBeLessThan(0.04);
  });

  it.each([
    [{ size: 0 }, /Expected a positive integer for size but received 0/],
    [{ maxDelta: -1 }, /Expected a finite non-negative number for maxDelta but received -1/],
    [{ maxDelta: Number.POSITIVE_INFINITY }, /for maxDelta but received Infinity/],
    [{ contrast: 0.5 }, /Expected a \[lower, upper\] pair for contrast but received 0.5/],
    [{ contrast: [0.2, Number.POSITIVE_INFINITY] }, /for contrast\[1\] but received Infinity/],
    [
      { contrast: [1, 1] },
      /Expected a finite number above contrast\[0\] \(1\) for contrast\[1\] but received 1/,
    ],
    [{ contrast: [-1, 1] }, /for contrast\[0\] but received -1/],
    [{ labelBytes: 3 }, /Expected 1 or 2 for labelBytes but received 3/],
  ])('rejects options %j', (options, message) => {
    expect(() => distortCifar(options as never)).toThrow(message);
  });

  it('rejects a missing or partial random source', () => {
    expect(() => distortCifar()(randomImage(1), undefined as never)).toThrow(
      /Expected a Random .* for rng but received undefined/,
    );
    expect(() => distortCifar()(randomImage(1), { below: () => 0 } as never)).toThrow(/for rng/);
  });

  it('rejects images it cannot distort', () => {
    const d = distortCifar();
    expect(() => d(randomImage(1, 20, 32), new CounterRng(1, 'd'))).toThrow(
      /Expected an image of at least 24x24 for image but received "20x32"/,
    );
    expect(() => d(new Uint8Array(100), new CounterRng(1, 'd'))).toThrow(
      /Expected a record of 3073 bytes for record but received 100 bytes/,
    );
    const gray = { dtype: 'uint8' as const, shape: [32, 32, 1], data: new Uint8Array(1024) };
    expect(() => d(gray, new CounterRng(1, 'd'))).toThrow(/Expected a uint8 RGB image for image/);
  });
});

describe('cifarEvalTransform', () => {
  it('is a central 24x24 crop (offset 4) followed by per-image standardization', () => {
    const image = randomImage(3);
    const out = cifarEvalTransform()(image);
    const crop: number[] = [];
    for (let y = 4; y < 28; y++)
      for (let x = 4; x < 28; x++) for (let c = 0; c < 3; c++) crop.push(image.data[(y * 32 + x) * 3 + c]);
    const mean = crop.reduce((a, b) => a + b, 0) / crop.length;
    const sd = Math.sqrt(crop.reduce((a, b) => a + b * b, 0) / crop.length - mean * mean);
    const expected = crop.map((v) => (v - mean) / Math.max(sd, 1 / Math.sqrt(1728)));
    expect(maxAbsDiff(out.data, expected)).toBeLessThan(1e-5);
    const rec = cifarEvalTransform()(toRecord(2, image));
    expect(rec.label).toBe(2);
    expect(maxAbsDiff(rec.image.data, out.data)).toBe(0);
  });

  it('a uniform image gives zeros', () => {
    const image = randomImage(1);
    image.data.fill(77);
    expect(Array.from(new Set(cifarEvalTransform()(image).data))).toEqual([0]);
  });
});

describe('distortCifar against the library ops chained', () => {
  it('equals randomCrop -> randomFlipLeftRight -> randomBrightness -> randomContrast -> perImageStandardization', async () => {
    const { randomCrop } = await import('../../src/image/random-crop.js');
    const { randomFlipLeftRight } = await import('../../src/image/flip.js');
    const { randomBrightness } = await import('../../src/image/adjust-brightness.js');
    const { randomContrast } = await import('../../src/image/adjust-contrast.js');
    const { perImageStandardization } = await import('../../src/image/per-image-standardization.js');
    for (let seed = 0; seed < 100; seed++) {
      const image = randomImage(1000 + seed);
      const rng = new CounterRng(seed, 'chain');
      const cropped = randomCrop(image, [24, 24, 3], rng);
      const flipped = randomFlipLeftRight(cropped, rng);
      // cifar10_input casts uint8 to float32 without scaling before the colour ops.
      const asFloat: Image<'float32'> = {
        dtype: 'float32',
        shape: flipped.shape,
        data: Float32Array.from(flipped.data),
      };
      const bright = randomBrightness(asFloat, 63, rng);
      const contrasted = randomContrast(bright, 0.2, 1.8, rng);
      const chained = perImageStandardization(contrasted);
      const fused = distortCifar()(image, new CounterRng(seed, 'chain'));
      expect(maxAbsDiff(fused.data, chained.data)).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe('distortCifar kernels', () => {
  it('the WebAssembly kernel (records) and the JavaScript loop give identical numbers', () => {
    const wasm = distortCifar();
    const js = distortCifar({ kernel: 'js' });
    for (let seed = 0; seed < 200; seed++) {
      const record = toRecord(seed % 10, randomImage(seed));
      const a = wasm(record, new CounterRng(seed, 'k'));
      const b = js(record, new CounterRng(seed, 'k'));
      expect(a.label).toBe(b.label);
      expect(maxAbsDiff(a.image.data, b.image.data)).toBe(0);
    }
  });

  it('rejects an unknown kernel', () => {
    expect(() => distortCifar({ kernel: 'simd' as never })).toThrow(
      /Expected 'auto' or 'js' for kernel but received "simd"/,
    );
  });
});
