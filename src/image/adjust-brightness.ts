import { invalidArgument } from '../core/errors.js';
import { float32ToUint8, UINT8_TO_FLOAT32 } from './convert-image-dtype.js';
import { checkRandom, type Image, type ImageDType, imageDims, type Random } from './image.js';
import { uniformRange } from './uniform-range.js';

/**
 * TF's `tf.image.adjust_brightness(image, delta)`: adds `delta` to every value, in float32.
 * - float32 images: `x + f32(delta)`, never clipped (so [0, 255] and [0, 1] images both work).
 * - uint8 images: `delta` is in [0, 1] units as in TF, and the result goes back with saturation:
 *   `trunc(clamp((x · f32(1/255) + delta) · 255.5, 0, 255))`.
 */
export function adjustBrightness<D extends ImageDType>(image: Image<D>, delta: number): Image<D> {
  const { height, width, channels } = imageDims('adjustBrightness', image);
  if (typeof delta !== 'number' || !Number.isFinite(delta)) {
    throw invalidArgument('delta', 'a finite number', delta, 'adjustBrightness');
  }
  return shiftValues(image, Math.fround(delta), [height, width, channels]);
}

/**
 * TF's `tf.image.random_brightness(image, max_delta)`: one `delta ~ U[−maxDelta, maxDelta)` per image
 * (a single float32 draw from `rng`), then `adjustBrightness`.
 */
export function randomBrightness<D extends ImageDType>(
  image: Image<D>,
  maxDelta: number,
  rng: Random,
): Image<D> {
  const { height, width, channels } = imageDims('randomBrightness', image);
  checkRandom('randomBrightness', rng);
  if (typeof maxDelta !== 'number' || !Number.isFinite(maxDelta) || maxDelta < 0) {
    throw invalidArgument('maxDelta', 'a non-negative finite number', maxDelta, 'randomBrightness');
  }
  return shiftValues(image, uniformRange(-maxDelta, maxDelta, rng), [height, width, channels]);
}

function shiftValues<D extends ImageDType>(image: Image<D>, delta: number, shape: number[]): Image<D> {
  if (image.dtype === 'float32') {
    const src = image.data as Float32Array;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] + delta;
    return { dtype: image.dtype, shape, data: out } as unknown as Image<D>;
  }
  // A uint8 result depends on the input byte alone, so 256 conversions cover the whole image.
  const table = new Uint8Array(256);
  for (let x = 0; x < 256; x++)
    table[x] = float32ToUint8(Math.fround(Math.fround(x * UINT8_TO_FLOAT32) + delta));
  const src = image.data as Uint8Array;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return { dtype: image.dtype, shape, data: out } as unknown as Image<D>;
}
