import { invalidArgument } from '../core/errors.js';
import { objectOption } from '../core/validate.js';
import { checkRandom, type Image, type ImageDType, imageDims, type Random } from './image.js';

const OP = 'gaussianNoise';
const TWO_PI = 2 * Math.PI;

/**
 * Adds independent `N(mean, stddev²)` noise to every value, in the image's own units (so pixel levels
 * for uint8, and whatever range a float image has). There is no TF1 image op for this; it does what
 * `x + tf.random.normal(shape, mean, stddev)` does (and Keras' `GaussianNoise` layer in training):
 * - float32: `x + noise` in float32, never clipped;
 * - uint8: `x + noise` rounded to the nearest level (halves up) and saturated to [0, 255].
 *
 * Normals come from the Box-Muller transform, two per pair of `rng.uniform()` draws, so the draws taken
 * depend only on the image size and the same rng state gives the same noise.
 */
export function gaussianNoise<D extends ImageDType>(
  image: Image<D>,
  stddev: number,
  rng: Random,
  options: { mean?: number } = {},
): Image<D> {
  const { height, width, channels } = imageDims(OP, image);
  checkRandom(OP, rng);
  if (typeof stddev !== 'number' || !Number.isFinite(stddev) || stddev < 0) {
    throw invalidArgument('stddev', 'a non-negative finite number', stddev, OP);
  }
  const given = objectOption(OP, 'options', options).mean;
  const mean = given === undefined ? 0 : given;
  if (typeof mean !== 'number' || !Number.isFinite(mean)) {
    throw invalidArgument('mean', 'a finite number', mean, OP);
  }
  const src = image.data;
  const n = src.length;
  const out = image.dtype === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  const float = image.dtype === 'float32';
  for (let i = 0; i < n; i += 2) {
    // Box-Muller: radius from u1 in (0, 1] (never log 0), angle from u2; cos and sin give two normals.
    const radius = stddev * Math.sqrt(-2 * Math.log(1 - rng.uniform()));
    const angle = TWO_PI * rng.uniform();
    out[i] = noisy(src[i], mean + radius * Math.cos(angle), float);
    if (i + 1 < n) out[i + 1] = noisy(src[i + 1], mean + radius * Math.sin(angle), float);
  }
  return { dtype: image.dtype, shape: [height, width, channels], data: out } as unknown as Image<D>;
}

/** One noisy value: float32 addition for float images; rounded and saturated for uint8. */
function noisy(x: number, noise: number, float: boolean): number {
  if (float) return x + Math.fround(noise);
  return Math.min(255, Math.max(0, Math.round(x + noise)));
}
