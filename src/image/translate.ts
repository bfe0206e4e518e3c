import { integerOption, objectOption } from '../core/validate.js';
import { copyBlock } from './crop.js';
import { fillValueOption } from './fill-value.js';
import { checkRandom, emptyLike, type Image, type ImageDType, imageDims, type Random } from './image.js';

const MAX_SHIFT = 0x7fffffff;

export interface TranslateOptions {
  /** Value of the vacated pixels (default 0). A uint8 image needs an integer in [0, 255]. */
  fillValue?: number;
}

/**
 * Shifts the image by whole pixels: positive `dx` moves the content right, positive `dy` down, so
 * `out[y, x] = image[y - dy, x - dx]`, and pixels with no source take `fillValue`. Same shape and dtype.
 * Any integer shift is allowed; one of the full height or width or more leaves only fill. A float32
 * `fillValue` is stored rounded to float32.
 *
 * TF counterpart: `tf.contrib.image.translate` (TF 1, which always fills with 0) and
 * `tfa.image.translate` (`fill_value`), both given `[dx, dy]` with `fill_mode='constant'`, where integer
 * shifts are exact. Differences: the arguments go height first (`dy, dx`) like every other op here;
 * shifts must be integers; a uint8 `fillValue` outside [0, 255] is an error (TF would cast it).
 */
export function translate<D extends ImageDType>(
  image: Image<D>,
  dy: number,
  dx: number,
  options: TranslateOptions = {},
): Image<D> {
  const { height, width, channels } = imageDims('translate', image);
  integerOption('translate', 'dy', dy, {});
  integerOption('translate', 'dx', dx, {});
  const fillValue = fillValueOption(
    'translate',
    image,
    objectOption('translate', 'options', options).fillValue,
  );
  return shift(image, height, width, channels, dy, dx, fillValue);
}

/**
 * A `translate` by shifts drawn uniformly from the integers in [-maxDy, maxDy] and [-maxDx, maxDx]:
 * `dy = rng.below(2·maxDy + 1) - maxDy`, then `dx` likewise (two draws per image, height first).
 * TF counterpart: Keras `RandomTranslation` with `fill_mode='constant'`, which draws continuous
 * fractions of the size and interpolates; this one stays on whole pixels.
 */
export function randomTranslate<D extends ImageDType>(
  image: Image<D>,
  maxDy: number,
  maxDx: number,
  rng: Random,
  options: TranslateOptions = {},
): Image<D> {
  const { height, width, channels } = imageDims('randomTranslate', image);
  checkRandom('randomTranslate', rng);
  // 2·max + 1 must stay a valid `below` bound (<= 2^32).
  integerOption('randomTranslate', 'maxDy', maxDy, { min: 0, max: MAX_SHIFT });
  integerOption('randomTranslate', 'maxDx', maxDx, { min: 0, max: MAX_SHIFT });
  const o = objectOption('randomTranslate', 'options', options);
  const fillValue = fillValueOption('randomTranslate', image, o.fillValue);
  const dy = rng.below(2 * maxDy + 1) - maxDy;
  const dx = rng.below(2 * maxDx + 1) - maxDx;
  return shift(image, height, width, channels, dy, dx, fillValue);
}

function shift<D extends ImageDType>(
  image: Image<D>,
  height: number,
  width: number,
  channels: number,
  dy: number,
  dx: number,
  fillValue: number,
): Image<D> {
  const out = emptyLike(image, height, width, channels);
  if (!Object.is(fillValue, 0)) out.data.fill(fillValue); // new arrays are already +0 (but -0 must be written)
  // Output rows [y0, y1) and columns [x0, x1) have a source pixel; the rest keep the fill.
  const y0 = Math.min(Math.max(dy, 0), height);
  const y1 = Math.max(Math.min(height + dy, height), y0);
  const x0 = Math.min(Math.max(dx, 0), width);
  const x1 = Math.max(Math.min(width + dx, width), x0);
  copyBlock(image, y0 - dy, x0 - dx, 0, out, y0, x0, y1 - y0, x1 - x0, channels);
  return out;
}
