import { invalidArgument } from '../core/errors.js';
import { floatView, imageFromFloats } from './convert-image-dtype.js';
import { checkRandom, type Image, type ImageDType, imageDims, type Random } from './image.js';
import { uniformRange } from './uniform-range.js';

/**
 * TF's `tf.image.adjust_contrast(image, contrast_factor)` (kernel AdjustContrastv2): per channel c,
 * `mean_c` over all H·W pixels, then `out = mean_c + factor · (x − mean_c)`, in float32.
 * uint8 images go through floats in [0, 1] and back with saturation; float32 results are not clipped.
 * The channel sums fold the image in halves as the TF CPU kernel does, so float32 rounding matches it.
 */
export function adjustContrast<D extends ImageDType>(image: Image<D>, factor: number): Image<D> {
  imageDims('adjustContrast', image);
  if (typeof factor !== 'number' || !Number.isFinite(factor)) {
    throw invalidArgument('factor', 'a finite number', factor, 'adjustContrast');
  }
  return scaleAroundMean(image, Math.fround(factor));
}

/**
 * TF's `tf.image.random_contrast(image, lower, upper)`: one `factor ~ U[lower, upper)` per image, then
 * `adjustContrast`. Requires `upper > lower >= 0`.
 */
export function randomContrast<D extends ImageDType>(
  image: Image<D>,
  lower: number,
  upper: number,
  rng: Random,
): Image<D> {
  imageDims('randomContrast', image);
  checkRandom('randomContrast', rng);
  return scaleAroundMean(image, randomFactor('randomContrast', lower, upper, rng));
}

/**
 * Validates a `[lower, upper)` factor range as TF's random_contrast and random_saturation do
 * ("upper must be > lower", "lower must be non-negative") and draws one float32 factor from it.
 */
export function randomFactor(op: string, lower: number, upper: number, rng: Random): number {
  if (typeof lower !== 'number' || !Number.isFinite(lower)) {
    throw invalidArgument('lower', 'a finite number', lower, op);
  }
  if (typeof upper !== 'number' || !Number.isFinite(upper) || upper <= lower) {
    throw invalidArgument('upper', `a finite number > lower (${lower})`, upper, op);
  }
  if (lower < 0) throw invalidArgument('lower', 'a non-negative number', lower, op);
  return uniformRange(lower, upper, rng);
}

function scaleAroundMean<D extends ImageDType>(image: Image<D>, factor: number): Image<D> {
  const [height, width, channels] = image.shape;
  const pixels = height * width;
  const src = floatView(image);
  const out = new Float32Array(src.length);
  if (src.length > 0) {
    const means = channelMeans(src, pixels, channels, out);
    for (let p = 0, i = 0; p < pixels; p++) {
      for (let c = 0; c < channels; c++, i++) {
        const mean = means[c];
        out[i] = mean + Math.fround(factor * Math.fround(src[i] - mean));
      }
    }
  }
  return imageFromFloats(image.dtype, image.shape, out);
}

/**
 * Per-channel means of `pixels` HWC pixels, summed as AdjustContrastv2's CPU kernel sums them:
 * repeatedly add the second half of the rows onto the first half (in float32, in `scratch`) until one
 * row is left, then multiply by `f32(1 / pixels)`.
 */
function channelMeans(
  src: Float32Array,
  pixels: number,
  channels: number,
  scratch: Float32Array,
): Float32Array {
  let remaining = pixels;
  let first = true;
  do {
    const right = Math.floor(remaining / 2);
    const left = remaining - right;
    const offset = left * channels;
    const count = right * channels;
    if (first) {
      for (let j = 0; j < count; j++) scratch[j] = src[offset + j] + src[j];
      // An odd row count leaves the middle row unpaired; it is carried over (also covers pixels == 1).
      if (left > right) for (let j = count; j < count + channels; j++) scratch[j] = src[j];
      first = false;
    } else {
      for (let j = 0; j < count; j++) scratch[j] += scratch[offset + j];
    }
    remaining = left;
  } while (remaining > 1);
  const scale = Math.fround(1 / pixels);
  const means = new Float32Array(channels);
  for (let c = 0; c < channels; c++) means[c] = scratch[c] * scale;
  return means;
}
