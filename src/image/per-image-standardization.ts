import { type Image, imageDims } from './image.js';

const f32 = Math.fround;

/**
 * TF1's `tf.image.per_image_standardization(image)` (the TF 1.x rule, also once `per_image_whitening`):
 * - `x = cast(image, float32)`: a plain cast, so uint8 stays in 0..255;
 * - `mean` over all pixels **and** channels; `var = relu(mean(x²) − mean²)` (TF's one-pass formula);
 * - `adj = max(√var, 1/√N)` with `N = H·W·C`; `out = (x − mean) / adj`, always float32.
 * A uniform image therefore becomes all zeros.
 *
 * Difference from TF: the two sums accumulate in float64 (TF reduces in float32), then `mean`,
 * `mean(x²)`, `var` and the scale are rounded to float32 as TF holds them. The result is at least as
 * accurate and within float32 rounding of TF's. TF 2's newer rule (uint8 scaled to [0, 1], output cast
 * back to the input dtype) is not followed.
 */
export function perImageStandardization(image: Image): Image<'float32'> {
  const { height, width, channels } = imageDims('perImageStandardization', image);
  const src = image.data;
  const n = src.length;
  let sum = 0;
  let sumOfSquares = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i];
    sum += x;
    sumOfSquares += x * x;
  }
  const mean = f32(sum / n);
  const variance = Math.max(0, f32(f32(sumOfSquares / n) - f32(mean * mean)));
  const scale = Math.max(f32(Math.sqrt(variance)), f32(1 / Math.sqrt(n)));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f32(src[i] - mean) / scale;
  return { dtype: 'float32', shape: [height, width, channels], data: out };
}
