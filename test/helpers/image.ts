import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, expect } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import type { Image, ImageDType, Random } from '../../src/image/image.js';
import type { ResizeOptions } from '../../src/image/resize-bilinear.js';

/**
 * Shared helpers for the image op tests: image builders and generators, scripted `Random`s, tfjs
 * set-up and comparison, error capture and the statistics the random-op tests use.
 */

// ---------------------------------------------------------------------------------------------------
// Images

export const u8 = (shape: number[], data: number[]): Image<'uint8'> => ({
  dtype: 'uint8',
  shape,
  data: Uint8Array.from(data),
});

export const f32 = (shape: number[], data: number[]): Image<'float32'> => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from(data),
});

/** Every uint8 level, 0..255. */
export const ALL_LEVELS = Array.from({ length: 256 }, (_, x) => x);

/** Element i holds `first + i`, so any output element tells where it came from. */
export function indexImage<D extends ImageDType>(
  dtype: D,
  height: number,
  width: number,
  channels: number,
  first = 0,
): Image<D> {
  const n = height * width * channels;
  const data = dtype === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = first + i;
  return { dtype, shape: [height, width, channels], data } as unknown as Image<D>;
}

/** An image of reproducible random values: uint8 levels, or float32 in [0, 1). */
export function randomImage<D extends ImageDType>(
  dtype: D,
  h: number,
  w: number,
  c: number,
  seed: number,
): Image<D> {
  const rng = new CounterRng(seed, 'test');
  const n = h * w * c;
  const data = dtype === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = dtype === 'uint8' ? rng.below(256) : rng.uniformFloat32();
  return { dtype, shape: [h, w, c], data } as unknown as Image<D>;
}

/** `randomImage`s of 1..maxSide x 1..maxSide x 1..maxChannels, either dtype, from a drawn seed. */
export function randomImageArb(maxSide: number, maxChannels: number): fc.Arbitrary<Image> {
  return fc
    .tuple(
      fc.integer({ min: 1, max: maxSide }),
      fc.integer({ min: 1, max: maxSide }),
      fc.integer({ min: 1, max: maxChannels }),
      fc.constantFrom<ImageDType>('uint8', 'float32'),
      fc.nat(),
    )
    .map(([h, w, c, dtype, seed]) => randomImage(dtype, h, w, c, seed));
}

/** The element at (y, x, c) of an HWC image. */
export function at(image: Image, y: number, x: number, c: number): number {
  const [, width, channels] = image.shape;
  return image.data[(y * width + x) * channels + c];
}

export interface ImageArbOptions<D extends ImageDType> {
  /** Largest height and width, each from 1 (default 8). */
  maxSide?: number;
  /** Channel counts (default 1, 3 or 4). */
  channels?: fc.Arbitrary<number>;
  /** Dtypes to draw from (default both). */
  dtypes?: readonly D[];
  /** float32 values: the range (default any finite float32, never NaN). */
  min?: number;
  max?: number;
}

/** Random HWC images for property tests. */
export function imageArb<D extends ImageDType = ImageDType>(
  options: ImageArbOptions<D> = {},
): fc.Arbitrary<Image<D>> {
  const { maxSide = 8, channels = fc.constantFrom(1, 3, 4), min, max } = options;
  const dtypes = options.dtypes ?? (['uint8', 'float32'] as unknown as readonly D[]);
  return fc
    .record({
      height: fc.integer({ min: 1, max: maxSide }),
      width: fc.integer({ min: 1, max: maxSide }),
      channels,
      dtype: fc.constantFrom(...dtypes),
    })
    .chain(({ height, width, channels, dtype }) => {
      const n = height * width * channels;
      const data =
        dtype === 'uint8'
          ? fc.uint8Array({ minLength: n, maxLength: n })
          : fc.float32Array({ minLength: n, maxLength: n, min, max, noNaN: true, noDefaultInfinity: true });
      return data.map((d) => ({ dtype, shape: [height, width, channels], data: d }) as unknown as Image<D>);
    });
}

/** A random HWC image: 1..8 x 1..8, 1, 3 or 4 channels, uint8 or finite float32. */
export const arbImage = imageArb();

/** A 1x1 float32 RGB image. */
export const pixel = (r: number, g: number, b: number): Image<'float32'> => f32([1, 1, 3], [r, g, b]);

/** Random RGB images up to 5x5, for the colour ops; float32 values in `range` (default any finite). */
export function rgbImageArb<D extends ImageDType>(
  dtype: D,
  range: { min?: number; max?: number } = {},
): fc.Arbitrary<Image<D>> {
  return imageArb({ maxSide: 5, channels: fc.constant(3), dtypes: [dtype], ...range });
}

/** A [height, width] pair, each in 1..max. */
export const sides = (max: number): fc.Arbitrary<[number, number]> =>
  fc.tuple(fc.integer({ min: 1, max }), fc.integer({ min: 1, max }));

/** The three corner-flag combinations TF's resize kernels accept. */
export const RESIZE_FLAGS: readonly ResizeOptions[] = [
  { alignCorners: false, halfPixelCenters: false },
  { alignCorners: true, halfPixelCenters: false },
  { alignCorners: false, halfPixelCenters: true },
];

// ---------------------------------------------------------------------------------------------------
// What every image op promises

/**
 * Runs `op` on `image` and checks what every op promises: an output of the input's dtype and
 * typed-array class, of `shape`, with the input left untouched. Returns the output.
 */
export function expectPure<D extends ImageDType>(
  image: Image<D>,
  shape: readonly number[],
  op: (image: Image<D>) => Image,
): Image {
  const before = image.data.slice();
  const out = op(image);
  expect(out.dtype).toBe(image.dtype);
  expect(out.data).toBeInstanceOf(image.data.constructor);
  expect(out.shape).toEqual(shape);
  expect(image.data).toEqual(before);
  return out;
}

/** Asserts `out[y, x, c]` is exactly `expected(y, x, c)` for every element of `out`. */
export function expectElements(out: Image, expected: (y: number, x: number, c: number) => number): void {
  const [height, width, channels] = out.shape;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) expect(at(out, y, x, c)).toBe(expected(y, x, c));
}

/**
 * Asserts every value is finite and within [min, max] of `input` and `extra` (a fill value, say), up to
 * 1e-4: what an interpolating op can produce.
 */
export function expectWithinRange(
  values: Iterable<number>,
  input: ArrayLike<number>,
  ...extra: number[]
): void {
  const lo = Math.min(...extra, ...Array.from(input));
  const hi = Math.max(...extra, ...Array.from(input));
  for (const v of values) {
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThanOrEqual(lo - 1e-4);
    expect(v).toBeLessThanOrEqual(hi + 1e-4);
  }
}

/**
 * The property of an op that samples its input and fills what has no source (rotate, zoom): on random
 * images (up to 10x10x4, either dtype) and uint8-valid fill values, `op` keeps shape and dtype, leaves
 * its input alone and writes finite values within [min(input, fill), max(input, fill)].
 */
export function fillRangeProperty<T>(
  params: fc.Arbitrary<T>,
  op: (image: Image, fillValue: number, params: T) => Image,
): fc.IPropertyWithHooks<[Image, number, T]> {
  return fc.property(
    randomImageArb(10, 4),
    fc.integer({ min: 0, max: 255 }),
    params,
    (image, fillValue, p) => {
      const out = expectPure(image, image.shape, (x) => op(x, fillValue, p));
      expectWithinRange(out.data, image.data, fillValue);
    },
  );
}

/** Runs `op` on `image` and asserts the image's data is as it was. */
export function expectUntouched<I extends Image>(image: I, op: (image: I) => unknown): void {
  const before = image.data.slice();
  op(image);
  expect(image.data).toEqual(before);
}

/** Asserts `out` equals `image` but does not share its data. */
export function expectCopy(out: Image, image: Image): void {
  expect(out).toEqual(image);
  expect(out.data.buffer).not.toBe(image.data.buffer);
}

// ---------------------------------------------------------------------------------------------------
// Errors

/** The InvalidArgumentError `call` throws (failing the test if it throws nothing or something else). */
export function errorOf(call: () => unknown): InvalidArgumentError {
  try {
    call();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('Expected a throw');
}

/** Asserts `call` throws an InvalidArgumentError for `parameter` with `message` (exact, or a pattern). */
export function expectInvalidArgument(
  call: () => unknown,
  parameter: string,
  message: string | RegExp,
): InvalidArgumentError {
  const e = errorOf(call);
  expect(e.parameter).toBe(parameter);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
  return e;
}

/** Asserts `call` fails as op `op` rejecting its `image` argument as not a uint8/float32 HWC image. */
export function expectNotAnImage(op: string, call: () => unknown): InvalidArgumentError {
  return expectInvalidArgument(call, 'image', new RegExp(`^${op}: Expected a uint8 or float32 image tensor`));
}

/** Asserts the colour op `op` rejects 1- and 4-channel images of `dtype`; `call` runs it on one. */
export function expectRgbRequired(op: string, dtype: ImageDType, call: (image: Image) => unknown): void {
  for (const channels of [1, 4]) {
    const image = indexImage(dtype, 2, 1, channels);
    const received = `"a ${dtype} image of shape [2, 1, ${channels}]"`;
    const message = `${op}: Expected an RGB image with 3 channels for image but received ${received}`;
    expectInvalidArgument(() => call(image), 'image', message);
  }
}

/**
 * Checks that the random op `op` rejects, before drawing, an `rng` that lacks `Random` methods:
 * `call(rng)` must throw an InvalidArgumentError naming `rng` for each such value.
 */
export function expectRngRejected(op: string, call: (rng: Random) => unknown): void {
  const prefix = `${op}: Expected a Random (e.g. new CounterRng(seed, op)) for rng but received`;
  const halfRandom = { uniformFloat32: () => 0.25, below: () => 0 }; // enough for some ops, not a Random
  for (const [rng, received] of [
    [undefined, 'undefined'],
    [null, 'null'],
    [42, '42'],
    [Math.random, 'a function'],
    [halfRandom, '{}'],
  ] as const) {
    const e = expectInvalidArgument(() => call(rng as unknown as Random), 'rng', `${prefix} ${received}`);
    expect(e.stage).toBe(op);
  }
}

// ---------------------------------------------------------------------------------------------------
// Scripted randoms

/** A Random whose uniform and uniformFloat32 answer `u`, and that logs every call. */
export function scripted(u: number): Random & { calls: string[] } {
  const calls: string[] = [];
  const answer = (method: string, value: number) => () => {
    calls.push(method);
    return value;
  };
  return {
    calls,
    nextUint32: answer('nextUint32', 0),
    uniform: answer('uniform', u),
    uniformFloat32: answer('uniformFloat32', u),
    below: answer('below', 0),
  };
}

/** A Random that records the `below` limits asked for and answers from `answers` (or a CounterRng). */
export function recording(answers?: number[], seed = 1): Random & { limits: number[] } {
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

/** A Random whose uniform draws are the given values (the other methods are unused by these ops). */
export function fixedUniforms(...values: number[]): Random {
  let i = 0;
  return {
    uniformFloat32: () => values[i++],
    uniform: () => values[i++],
    nextUint32: () => 0,
    below: () => 0,
  };
}

/** Asserts `random` gives equal images from two generators at `seed`, and returns one of them. */
export function expectReproducible(seed: number, random: (rng: Random) => Image): Image {
  const out = random(new CounterRng(seed, 'test'));
  expect(random(new CounterRng(seed, 'test'))).toEqual(out);
  return out;
}

/**
 * Checks a random op that takes one float32 uniform per image against its deterministic twin: with
 * `rng` and a twin of it at `seed`, `random(rng)` equals `apply(value)` for the value TF's
 * `random_uniform(lo, hi)` makes of the twin's draw u (`u·(hi − lo) + lo`, every step in float32), and
 * the two generators end at the same position (one draw, not one per pixel).
 */
export function expectOneUniformDraw(
  seed: number,
  [lo, hi]: readonly [number, number],
  random: (rng: Random) => Image,
  apply: (value: number) => Image,
): void {
  const f = Math.fround;
  const rng = new CounterRng(seed, 'test');
  const twin = new CounterRng(seed, 'test');
  const out = random(rng);
  const value = f(f(f(f(hi) - f(lo)) * twin.uniformFloat32()) + f(lo));
  expect(Array.from(out.data)).toEqual(Array.from(apply(value).data));
  expect(rng.nextUint32()).toBe(twin.nextUint32());
}

// ---------------------------------------------------------------------------------------------------
// Statistics

/** Pearson's chi-square statistic of counts against a uniform expectation. */
export function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

/** Upper critical values of chi-square at p = 1e-6 by degrees of freedom (scipy.stats.chi2.isf(1e-6, df)). */
export const CHI2_P1E6 = { 2: 27.63, 9: 44.81, 34: 88.38, 39: 96.13 } as const;

/**
 * Checks draws meant to be uniform on [lo, hi): each within [lo − slack, hi + slack], their mean within
 * `meanTolerance` of the centre, and their counts over 10 equal bins passing chi-square at p = 1e-6.
 */
export function expectUniformDraws(
  draws: readonly number[],
  lo: number,
  hi: number,
  { slack, meanTolerance }: { slack: number; meanTolerance: number },
): void {
  const counts = new Array(10).fill(0);
  let sum = 0;
  for (const d of draws) {
    expect(d).toBeGreaterThanOrEqual(lo - slack);
    expect(d).toBeLessThanOrEqual(hi + slack);
    counts[Math.max(0, Math.min(9, Math.floor(((d - lo) / (hi - lo)) * 10)))]++;
    sum += d;
  }
  expect(Math.abs(sum / draws.length - (lo + hi) / 2)).toBeLessThan(meanTolerance);
  expect(chiSquare(counts)).toBeLessThan(CHI2_P1E6[9]);
}

/** Mean and population standard deviation. */
export function meanAndStd(data: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  const mean = sum / data.length;
  let squares = 0;
  for (let i = 0; i < data.length; i++) squares += (data[i] - mean) ** 2;
  return { mean, std: Math.sqrt(squares / data.length) };
}

/** The largest absolute difference of two equally long arrays (asserting the lengths match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------------
// tfjs

/** Registers a beforeAll that selects tfjs's cpu backend, without its "install the node backend" banner. */
export function useTfCpu(): void {
  beforeAll(async () => {
    tf.env().set('IS_TEST', true);
    await tf.setBackend('cpu');
  });
}

/** The image as a tfjs tensor: uint8 as int32 (tfjs has no uint8), float32 as is. */
export function toTf(image: Image): tf.Tensor3D {
  const [h, w, c] = image.shape;
  return image.dtype === 'uint8'
    ? tf.tensor3d(Int32Array.from(image.data), [h, w, c], 'int32')
    : tf.tensor3d(image.data as Float32Array, [h, w, c], 'float32');
}

/**
 * Asserts our output `ours` has the shape of what tfjs computes from `image` with `theirs` and agrees
 * with it element by element within 1e-4 (tfjs tensors are disposed afterwards).
 */
export function expectAgrees(ours: Image, image: Image, theirs: (input: tf.Tensor3D) => tf.Tensor): void {
  tf.tidy(() => {
    const reference = theirs(toTf(image));
    expect(ours.shape).toEqual(reference.shape);
    const want = reference.dataSync();
    expect(ours.data.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(ours.data[i] - (want[i] as number)) <= 1e-4)) {
        throw new Error(`element ${i}: ${ours.data[i]} != ${want[i]}`);
      }
    }
  });
}
