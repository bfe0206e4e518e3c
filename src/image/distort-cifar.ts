import { invalidArgument } from '../core/errors.js';
import { objectOption } from '../core/validate.js';
import { distortRecordWasm } from '../wasm/distort-cifar-kernel.js';
import { type CifarSource, cifarOptions, cifarSource, withLabels } from './cifar-source.js';
import { checkRandom, type Image, type Random } from './image.js';

export interface DistortCifarOptions {
  /** Side of the random square crop (default 24, as cifar10_input.IMAGE_SIZE). */
  size?: number;
  /** Brightness delta bound: delta ~ U[-maxDelta, maxDelta) in pixel units (default 63). */
  maxDelta?: number;
  /** Contrast factor range [lower, upper) (default [0.2, 1.8]). */
  contrast?: readonly [number, number];
  /** Bytes of label(s) before the planes when given a raw record (1 for CIFAR-10, 2 for CIFAR-100). */
  labelBytes?: 1 | 2;
  /**
   * Raw records use the WebAssembly SIMD kernel when the runtime has it ('auto', the default);
   * 'js' forces the JavaScript loop. Both give identical numbers (tested).
   */
  kernel?: 'auto' | 'js';
}

const PROBE = { oy: 0, ox: 0, flip: false, delta: 0, factor: 1 };

export interface DistortedCifarExample {
  label: number;
  coarseLabel?: number;
  image: Image<'float32'>;
}

export interface DistortCifar {
  /** Distorts a uint8 HWC image (`[H, W, 3]`, H and W >= size). */
  (image: Image<'uint8'>, rng: Random): Image<'float32'>;
  /** Decodes and distorts a raw CIFAR record (label byte(s) + R, G, B planes of 32x32) in the same passes. */
  (record: Uint8Array, rng: Random): DistortedCifarExample;
}

const STAGE = 'distortCifar';

/**
 * cifar10_input.py's `distorted_inputs` chain as one fused function:
 * randomCrop(size) -> randomFlipLeftRight -> randomBrightness(maxDelta) -> randomContrast(lower, upper)
 * -> perImageStandardization, giving the same numbers as the unfused ops (within 1e-4; tested) with
 * the same draws from `rng`, in the same order (crop row offset, crop column offset, flip, brightness,
 * contrast).
 *
 * Why two passes suffice: brightness adds δ to every value and contrast maps each channel c to
 * f·(x − m_c) + m_c where m_c is the channel mean after brightness, so the standardized output is
 * affine in the crop's source pixel: out = a·x + b_c. Pass 1 sums x and x² per channel over the crop
 * (integers, exact); a and b_c follow in closed form (TF1's one-pass variance, max(std, 1/√N));
 * pass 2 writes a·x + b_c (in float32), flipping by index. Raw records are read straight from their planes.
 */
export function distortCifar(options: DistortCifarOptions = {}): DistortCifar {
  const o = objectOption(STAGE, 'options', options) as DistortCifarOptions;
  const { size, labelBytes } = cifarOptions(STAGE, o);
  const maxDelta = o.maxDelta ?? 63;
  if (typeof maxDelta !== 'number' || !Number.isFinite(maxDelta) || maxDelta < 0) {
    throw invalidArgument('maxDelta', 'a finite non-negative number', maxDelta, STAGE);
  }
  const contrast = o.contrast ?? [0.2, 1.8];
  if (!Array.isArray(contrast) || contrast.length !== 2) {
    throw invalidArgument('contrast', 'a [lower, upper] pair', contrast, STAGE);
  }
  const [lower, upper] = contrast;
  if (typeof lower !== 'number' || !Number.isFinite(lower) || lower < 0) {
    throw invalidArgument('contrast[0]', 'a finite non-negative number', lower, STAGE);
  }
  if (typeof upper !== 'number' || !Number.isFinite(upper) || !(upper > lower)) {
    throw invalidArgument('contrast[1]', `a finite number above contrast[0] (${lower})`, upper, STAGE);
  }
  if (o.kernel !== undefined && o.kernel !== 'auto' && o.kernel !== 'js') {
    throw invalidArgument('kernel', "'auto' or 'js'", o.kernel, STAGE);
  }

  const n = size * size;
  const minStd = Math.fround(1 / Math.sqrt(n * 3));
  const sums = new Float64Array(3);
  const squares = new Float64Array(3);
  const offsets = new Float64Array(3);

  /** The whole chain for a source laid out with strides (row, column, channel) from `base`. */
  function run(c: CifarSource, rng: Random): Image<'float32'> {
    const { src, base, rowStride, colStride, chStride, height, width } = c;
    const oy = rng.below(height - size + 1);
    const ox = rng.below(width - size + 1);
    const flip = rng.uniformFloat32() < 0.5;
    const delta = Math.fround(-maxDelta + Math.fround(Math.fround(2 * maxDelta) * rng.uniformFloat32()));
    const factor = Math.fround(lower + Math.fround(Math.fround(upper - lower) * rng.uniformFloat32()));

    // Pass 1: per-channel sums of the crop, exact in doubles (at most 255² · n per channel).
    sums.fill(0);
    squares.fill(0);
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let q = 0;
      for (let y = 0; y < size; y++) {
        let p = base + (oy + y) * rowStride + ox * colStride + c * chStride;
        for (let x = 0; x < size; x++, p += colStride) {
          const v = src[p];
          s += v;
          q += v * v;
        }
      }
      sums[c] = s;
      squares[c] = q;
    }
    // Closed form of brightness + contrast + standardization (see the doc comment).
    let mean = 0;
    let meanSquare = 0;
    for (let c = 0; c < 3; c++) {
      const m = sums[c] / n;
      const variance = squares[c] / n - m * m;
      const shifted = m + delta;
      mean += shifted / 3;
      meanSquare += (factor * factor * variance + shifted * shifted) / 3;
    }
    const std = Math.sqrt(Math.max(meanSquare - mean * mean, 0));
    const adj = Math.max(std, minStd);
    const a = Math.fround(factor / adj);
    for (let c = 0; c < 3; c++) offsets[c] = ((1 - factor) * (sums[c] / n) + delta - mean) / adj;

    // Pass 2: write a·x + b_c in HWC order, reading the mirrored column when flipped. In float32
    // arithmetic, as the WebAssembly kernel's SIMD lanes: the product rounded, then the sum (the
    // Float32Array store rounds it; a double sum of two floats rounds to the same float).
    const out = new Float32Array(n * 3);
    const b0 = Math.fround(offsets[0]);
    const b1 = Math.fround(offsets[1]);
    const b2 = Math.fround(offsets[2]);
    for (let y = 0; y < size; y++) {
      const row = base + (oy + y) * rowStride;
      let o = y * size * 3;
      for (let x = 0; x < size; x++, o += 3) {
        const p = row + (ox + (flip ? size - 1 - x : x)) * colStride;
        out[o] = Math.fround(a * src[p]) + b0;
        out[o + 1] = Math.fround(a * src[p + chStride]) + b1;
        out[o + 2] = Math.fround(a * src[p + 2 * chStride]) + b2;
      }
    }
    return { dtype: 'float32', shape: [size, size, 3], data: out };
  }

  /** Records go through the WebAssembly kernel when available: same draws, same numbers, ~3x faster. */
  function runRecordWasm(record: Uint8Array, rng: Random): Image<'float32'> {
    const oy = rng.below(32 - size + 1);
    const ox = rng.below(32 - size + 1);
    const flip = rng.uniformFloat32() < 0.5;
    const delta = Math.fround(-maxDelta + Math.fround(Math.fround(2 * maxDelta) * rng.uniformFloat32()));
    const factor = Math.fround(lower + Math.fround(Math.fround(upper - lower) * rng.uniformFloat32()));
    const data = distortRecordWasm(record, labelBytes, size, { oy, ox, flip, delta, factor })!;
    return { dtype: 'float32', shape: [size, size, 3], data };
  }
  const useWasm =
    o.kernel !== 'js' &&
    size <= 32 &&
    distortRecordWasm(new Uint8Array(labelBytes + 3072), labelBytes, size, PROBE) !== null;

  function distort(
    input: Image<'uint8'> | Uint8Array,
    rng: Random,
  ): Image<'float32'> | DistortedCifarExample {
    checkRandom(STAGE, rng);
    const c = cifarSource(STAGE, input, labelBytes, size);
    const image = c.labels && useWasm ? runRecordWasm(c.src, rng) : run(c, rng);
    return withLabels(c, image);
  }
  return distort as DistortCifar;
}
