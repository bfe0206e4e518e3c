import { invalidArgument } from '../core/errors.js';
import { booleanOption, objectOption } from '../core/validate.js';
import { blendNeighbours } from './bilinear.js';
import { fillValueOption } from './fill-value.js';
import { checkRandom, emptyLike, type Image, type ImageDType, imageDims, type Random } from './image.js';
import { uniformRange } from './uniform-range.js';

export interface ZoomOptions {
  /** Value of output pixels whose source lies outside the input (default 0). uint8: an integer in [0, 255]. */
  fillValue?: number;
}

export interface RandomZoomOptions extends ZoomOptions {
  /** Draw the height and width scales separately (default false: one scale for both axes). */
  independent?: boolean;
}

/**
 * Magnifies the image by `scale` about its centre `c = ((W − 1)/2, (H − 1)/2)`; `scale` is one number for
 * both axes or `[scaleY, scaleX]`. Same shape and dtype (uint8 rounded to nearest).
 *
 * scale > 1 zooms in (the central `size/scale` region fills the output); scale < 1 zooms out (the image
 * shrinks to `size·scale` in the middle and the border takes `fillValue`). One bilinear pass: output
 * `(x, y)` reads the input at `(cx + (x − cx)/scaleX, cy + (y − cy)/scaleY)`, which is a half-pixel-centre
 * resize of the centred crop. As in `rotate`, a source point outside `[−0.5, W − 0.5) × [−0.5, H − 0.5)`
 * gives `fillValue`, and points within half a pixel of the border read the edge pixels.
 */
export function zoom<D extends ImageDType>(
  image: Image<D>,
  scale: number | readonly [number, number],
  options: ZoomOptions = {},
): Image<D> {
  imageDims('zoom', image);
  const pair: readonly unknown[] =
    typeof scale === 'number' ? [scale, scale] : Array.isArray(scale) ? scale : [];
  const [scaleY, scaleX] = pair;
  if (pair.length !== 2 || !isPositiveFinite(scaleY) || !isPositiveFinite(scaleX)) {
    throw invalidArgument('scale', 'a positive finite number or [scaleY, scaleX] of them', scale, 'zoom');
  }
  const o = objectOption('zoom', 'options', options);
  return zoomBy(image, scaleY, scaleX, fillValueOption('zoom', image, o.fillValue));
}

/**
 * `zoom` by a scale drawn uniformly from `[minScale, maxScale)`, in float32 as TF's `random_uniform`
 * computes it (`lo + (hi − lo)·u`): one draw per image for both axes, or with `independent: true` two
 * draws, height first.
 *
 * TF counterpart: Keras `RandomZoom(height_factor, width_factor, fill_mode='constant')`, whose factors are
 * signed fractions (`−0.2` zooms in by up to 20%) and whose default draws the axes independently.
 * Here the range is of magnifications (`[0.8, 1.25]`), one scale for both axes unless `independent`.
 */
export function randomZoom<D extends ImageDType>(
  image: Image<D>,
  scaleRange: readonly [number, number],
  rng: Random,
  options: RandomZoomOptions = {},
): Image<D> {
  imageDims('randomZoom', image);
  checkRandom('randomZoom', rng);
  if (
    !Array.isArray(scaleRange) ||
    scaleRange.length !== 2 ||
    !isPositiveFinite(scaleRange[0]) ||
    !isPositiveFinite(scaleRange[1])
  ) {
    throw invalidArgument(
      'scaleRange',
      'an array [minScale, maxScale] of positive finite numbers',
      scaleRange,
      'randomZoom',
    );
  }
  const [minScale, maxScale] = scaleRange;
  if (minScale > maxScale) {
    throw invalidArgument('scaleRange', 'minScale <= maxScale', scaleRange, 'randomZoom');
  }
  const o = objectOption('randomZoom', 'options', options);
  const independent = booleanOption('randomZoom', 'independent', o.independent, false);
  const fillValue = fillValueOption('randomZoom', image, o.fillValue);
  const scaleY = uniformRange(minScale, maxScale, rng);
  const scaleX = independent ? uniformRange(minScale, maxScale, rng) : scaleY;
  return zoomBy(image, scaleY, scaleX, fillValue);
}

function isPositiveFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** Where each output index along one axis reads: `inside` 0/1, the two neighbours (times `stride`), the weight. */
interface AxisSamples {
  inside: Uint8Array;
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float64Array;
}

function axisSamples(size: number, scale: number, stride: number): AxisSamples {
  const inside = new Uint8Array(size);
  const lower = new Int32Array(size);
  const upper = new Int32Array(size);
  const lerp = new Float64Array(size);
  const centre = (size - 1) / 2;
  for (let d = 0; d < size; d++) {
    const s = centre + (d - centre) / scale;
    if (!(s >= -0.5 && s < size - 0.5)) continue;
    const p = Math.min(Math.max(s, 0), size - 1);
    const lo = Math.floor(p);
    inside[d] = 1;
    lower[d] = lo * stride;
    upper[d] = Math.min(lo + 1, size - 1) * stride;
    lerp[d] = p - lo;
  }
  return { inside, lower, upper, lerp };
}

function zoomBy<D extends ImageDType>(
  image: Image<D>,
  scaleY: number,
  scaleX: number,
  fillValue: number,
): Image<D> {
  const [height, width, channels] = image.shape;
  const out = emptyLike(image, height, width, channels);
  const src = image.data;
  const dst = out.data;
  const rowLength = width * channels;
  const ys = axisSamples(height, scaleY, rowLength);
  const xs = axisSamples(width, scaleX, channels);
  const round = image.dtype === 'uint8';
  let o = 0;
  for (let y = 0; y < height; y++) {
    if (ys.inside[y] === 0) {
      dst.fill(fillValue, o, o + rowLength);
      o += rowLength;
      continue;
    }
    const top = ys.lower[y];
    const bottom = ys.upper[y];
    const wy = ys.lerp[y];
    for (let x = 0; x < width; x++, o += channels) {
      if (xs.inside[x] === 0) {
        for (let c = 0; c < channels; c++) dst[o + c] = fillValue;
        continue;
      }
      blendNeighbours(src, dst, o, top, bottom, xs.lower[x], xs.upper[x], xs.lerp[x], wy, channels, round);
    }
  }
  return out;
}
