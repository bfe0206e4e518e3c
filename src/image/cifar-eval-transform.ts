import { objectOption } from '../core/validate.js';
import { type CifarSource, cifarOptions, cifarSource, withLabels } from './cifar-source.js';
import type { Image } from './image.js';

export interface CifarEvalTransformOptions {
  /** Side of the central crop (default 24). */
  size?: number;
  /** Label bytes before the planes when given a raw record (1 for CIFAR-10, 2 for CIFAR-100). */
  labelBytes?: 1 | 2;
}

export interface CifarEvalTransform {
  (image: Image<'uint8'>): Image<'float32'>;
  (record: Uint8Array): { label: number; coarseLabel?: number; image: Image<'float32'> };
}

const STAGE = 'cifarEvalTransform';

/**
 * cifar10_input.py's `inputs()` per-image work: resize_image_with_crop_or_pad to `size` (a central
 * crop at offset floor((32 - size) / 2)) then per_image_standardization, fused in two passes
 * (sums, then (x − mean) / max(std, 1/√N)). Accepts a uint8 HWC image or a raw CIFAR record.
 */
export function cifarEvalTransform(options: CifarEvalTransformOptions = {}): CifarEvalTransform {
  const o = objectOption(STAGE, 'options', options) as CifarEvalTransformOptions;
  const { size, labelBytes } = cifarOptions(STAGE, o);
  const n = size * size * 3;
  const minStd = 1 / Math.sqrt(n);

  function run(c: CifarSource) {
    const { src, base, rowStride, colStride, chStride, height, width } = c;
    const oy = Math.floor((height - size) / 2);
    const ox = Math.floor((width - size) / 2);
    let s = 0;
    let q = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = base + (oy + y) * rowStride + (ox + x) * colStride;
        for (let c = 0; c < 3; c++) {
          const v = src[p + c * chStride];
          s += v;
          q += v * v;
        }
      }
    }
    const mean = s / n;
    const adj = Math.max(Math.sqrt(Math.max(q / n - mean * mean, 0)), minStd);
    const out = new Float32Array(n);
    for (let y = 0, i = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = base + (oy + y) * rowStride + (ox + x) * colStride;
        for (let c = 0; c < 3; c++) out[i++] = (src[p + c * chStride] - mean) / adj;
      }
    }
    return { dtype: 'float32' as const, shape: [size, size, 3], data: out };
  }

  function transform(input: Image<'uint8'> | Uint8Array) {
    const c = cifarSource(STAGE, input, labelBytes, size);
    return withLabels(c, run(c));
  }
  return transform as CifarEvalTransform;
}
