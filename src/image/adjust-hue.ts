import { invalidArgument } from '../core/errors.js';
import { floatView, imageFromFloats } from './convert-image-dtype.js';
import { checkRandom, type Image, type ImageDType, type Random, rgbDims } from './image.js';
import { uniformRange } from './uniform-range.js';

const f32 = Math.fround;

/** Hue sector by channel order: r >= g with b below, above or between them, then the same for r < g. */
const HUE_SECTORS = [0, 4, 5, 1, 3, 2] as const;

/**
 * TF's `tf.image.adjust_hue(image, delta)` (kernel AdjustHue): rotates each RGB pixel's hue by
 * `delta` turns (`delta` in [−1, 1], as TF documents it; the kernel itself does not check). Per pixel
 * it keeps the min and max channel values and recomputes the middle one, in float32 as the CPU
 * kernel does, so every pixel keeps its min and max and float images keep their range.
 * uint8 images go through floats in [0, 1] and back. The last dimension must be 3.
 */
export function adjustHue<D extends ImageDType>(image: Image<D>, delta: number): Image<D> {
  rgbDims('adjustHue', image);
  if (typeof delta !== 'number' || !(delta >= -1 && delta <= 1)) {
    throw invalidArgument('delta', 'a number in [-1, 1]', delta, 'adjustHue');
  }
  return rotateHue(image, f32(delta));
}

/**
 * TF's `tf.image.random_hue(image, max_delta)`: one `delta ~ U[−maxDelta, maxDelta)` per image
 * (`maxDelta` in [0, 0.5]), then `adjustHue`.
 */
export function randomHue<D extends ImageDType>(image: Image<D>, maxDelta: number, rng: Random): Image<D> {
  rgbDims('randomHue', image);
  checkRandom('randomHue', rng);
  if (typeof maxDelta !== 'number' || !(maxDelta >= 0 && maxDelta <= 0.5)) {
    throw invalidArgument('maxDelta', 'a number in [0, 0.5]', maxDelta, 'randomHue');
  }
  return rotateHue(image, uniformRange(-maxDelta, maxDelta, rng));
}

function rotateHue<D extends ImageDType>(image: Image<D>, delta: number): Image<D> {
  const src = floatView(image);
  const out = new Float32Array(src.length);
  const shift = f32(delta * 6);
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i];
    const g = src[i + 1];
    const b = src[i + 2];
    // RGB → (hue in [0, 6], min, max): the hue sector k follows from the channel order. Order r and g
    // (ties and NaN put r first, as the kernel's comparisons do), then place b below, above or between.
    const rFirst = !(r < g);
    const high = rFirst ? r : g;
    const low = rFirst ? g : r;
    let max = high;
    let mid = b;
    let min = low;
    let place = 2; // b between low and high
    if (b < low) {
      mid = low;
      min = b;
      place = 0;
    } else if (b > high) {
      max = b;
      mid = high;
      place = 1;
    }
    const k = HUE_SECTORS[rFirst ? place : 3 + place];
    let h = 0;
    if (max !== min) {
      const ratio = f32(f32(mid - min) / f32(max - min));
      h = f32(k + ((k & 1) === 0 ? ratio : f32(1 - ratio)));
    }
    // Rotate and wrap into [0, 6); |delta| <= 1 keeps this to at most two steps.
    h = f32(h + shift);
    while (h < 0) h = f32(h + 6);
    while (h >= 6) h = f32(h - 6);
    // Back to RGB: the sector puts min and max in place, the position within it sets the middle value.
    const sector = Math.trunc(h);
    let frac = f32(h - sector);
    if ((sector & 1) !== 0) frac = f32(1 - frac);
    const middle = f32(min + f32(frac * f32(max - min)));
    let rr = max;
    let gg = min;
    let bb = middle;
    switch (sector) {
      case 0:
        gg = middle;
        bb = min;
        break;
      case 1:
        rr = middle;
        gg = max;
        bb = min;
        break;
      case 2:
        rr = min;
        gg = max;
        break;
      case 3:
        rr = min;
        gg = middle;
        bb = max;
        break;
      case 4:
        rr = middle;
        bb = max;
        break;
      // 5 (and NaN from non-finite pixels, as TF's default case): max, min, middle.
    }
    out[i] = rr;
    out[i + 1] = gg;
    out[i + 2] = bb;
  }
  return imageFromFloats(image.dtype, image.shape, out);
}
