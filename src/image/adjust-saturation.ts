import { invalidArgument } from '../core/errors.js';
import { randomFactor } from './adjust-contrast.js';
import { floatView, imageFromFloats } from './convert-image-dtype.js';
import { checkRandom, type Image, type ImageDType, type Random, rgbDims } from './image.js';

const f32 = Math.fround;

/**
 * TF's `tf.image.adjust_saturation(image, saturation_factor)` (kernel AdjustSaturation): per RGB pixel,
 * convert to HSV, set `s = clamp(s · factor, 0, 1)`, convert back; every step in float32 as the CPU
 * kernel computes it. The conversion works on ratios, so float images in [0, 1] and [0, 255] both work
 * (float32 results are not clipped); uint8 images go through floats in [0, 1] and back.
 * The last dimension must be 3.
 */
export function adjustSaturation<D extends ImageDType>(image: Image<D>, factor: number): Image<D> {
  rgbDims('adjustSaturation', image);
  if (typeof factor !== 'number' || !Number.isFinite(factor)) {
    throw invalidArgument('factor', 'a finite number', factor, 'adjustSaturation');
  }
  return scaleSaturation(image, f32(factor));
}

/**
 * TF's `tf.image.random_saturation(image, lower, upper)`: one `factor ~ U[lower, upper)` per image, then
 * `adjustSaturation`. Requires `upper > lower >= 0`, as `randomContrast` does.
 */
export function randomSaturation<D extends ImageDType>(
  image: Image<D>,
  lower: number,
  upper: number,
  rng: Random,
): Image<D> {
  rgbDims('randomSaturation', image);
  checkRandom('randomSaturation', rng);
  return scaleSaturation(image, randomFactor('randomSaturation', lower, upper, rng));
}

function scaleSaturation<D extends ImageDType>(image: Image<D>, factor: number): Image<D> {
  const src = floatView(image);
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i];
    const g = src[i + 1];
    const b = src[i + 2];
    // RGB → HSV (TF's rgb_to_hsv).
    const v = Math.max(r, g, b);
    const range = f32(v - Math.min(r, g, b));
    const s = v > 0 ? f32(range / v) : 0;
    const norm = f32(1 / f32(6 * range));
    let h: number;
    // TF adds the double constants 2/6 and 4/6 and only then rounds to float.
    if (r === v) h = f32(norm * f32(g - b));
    else if (g === v) h = f32(f32(norm * f32(b - r)) + 2 / 6);
    else h = f32(f32(norm * f32(r - g)) + 4 / 6);
    if (range <= 0) h = 0;
    if (h < 0) h = f32(h + 1);
    // Deliberate difference: hue is a turn in [0, 1), and TF lets two degenerate cases out of it. A hue
    // a hair below 0 rounds to exactly 1 above (TF then outputs grey: sector 6), and channel differences
    // so small that 1/(6·range) overflows float32 give ±Inf or NaN (TF's reduction loop never ends).
    if (!(h >= 0 && h < 1)) h = 0;
    const sat = Math.min(1, Math.max(0, f32(s * factor)));
    // HSV → RGB (TF's hsv_to_rgb).
    const c = f32(sat * v);
    const m = f32(v - c);
    const dh = f32(h * 6);
    let t = dh;
    while (t <= 0) t = f32(t + 2);
    while (t >= 2) t = f32(t - 2);
    const x = f32(c * f32(1 - Math.abs(f32(t - 1))));
    let rr = 0;
    let gg = 0;
    let bb = 0;
    switch (Math.trunc(dh)) {
      case 0:
        rr = c;
        gg = x;
        break;
      case 1:
        rr = x;
        gg = c;
        break;
      case 2:
        gg = c;
        bb = x;
        break;
      case 3:
        gg = x;
        bb = c;
        break;
      case 4:
        rr = x;
        bb = c;
        break;
      case 5:
        rr = c;
        bb = x;
        break;
    }
    out[i] = rr + m;
    out[i + 1] = gg + m;
    out[i + 2] = bb + m;
  }
  return imageFromFloats(image.dtype, image.shape, out);
}
