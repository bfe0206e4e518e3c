import { invalidArgument } from '../core/errors.js';
import { objectOption, oneOfOption } from '../core/validate.js';
import { blendNeighbours } from './bilinear.js';
import { fillValueOption } from './fill-value.js';
import { checkRandom, emptyLike, type Image, type ImageDType, imageDims, type Random } from './image.js';
import { uniformRange } from './uniform-range.js';

export type RotateInterpolation = 'bilinear' | 'nearest';

export interface RotateOptions {
  /** Value of output pixels whose source lies outside the input (default 0). uint8: an integer in [0, 255]. */
  fillValue?: number;
  /** How a source point between pixel centres is read (default 'bilinear'). */
  interpolation?: RotateInterpolation;
}

const INTERPOLATIONS: readonly RotateInterpolation[] = ['bilinear', 'nearest'];

/**
 * Rotates the image by `angle` radians about its centre `((W − 1)/2, (H − 1)/2)`, counter-clockwise as
 * displayed (rows going down) for positive angles. Same shape and dtype.
 *
 * Output pixel `(x, y)` reads the input at `sx = cx + (x − cx)·cos θ − (y − cy)·sin θ`,
 * `sy = cy + (x − cx)·sin θ + (y − cy)·cos θ` (the formula and sign of tfjs `rotateWithOffset`). A source
 * point outside the pixel area `[−0.5, W − 0.5) × [−0.5, H − 0.5)` gives `fillValue`. Inside it, 'nearest'
 * reads pixel `(round(sx), round(sy))`; 'bilinear' clamps the point to the pixel-centre grid (edge pixels
 * extend half a pixel) and interpolates the four neighbours. uint8 results are rounded to nearest.
 *
 * TF counterpart: Keras `RandomRotation` / `tf.contrib.image.rotate` (`ImageProjectiveTransform`,
 * `fill_mode='constant'`). Differences: TF fills every point outside the centre grid `[0, W − 1]`, so it
 * loses half a pixel at each border (and, through sin/cos rounding, sometimes whole border rows at
 * multiples of π/2); TF truncates uint8 results; coordinates here are float64. 'nearest' matches tfjs
 * `rotateWithOffset` with centre `((W − 1)/2, (H − 1)/2)` exactly.
 */
export function rotate<D extends ImageDType>(
  image: Image<D>,
  angle: number,
  options: RotateOptions = {},
): Image<D> {
  imageDims('rotate', image);
  if (typeof angle !== 'number' || !Number.isFinite(angle)) {
    throw invalidArgument('angle', 'a finite number of radians', angle, 'rotate');
  }
  return rotateBy(image, angle, rotateOptions('rotate', image, options));
}

/**
 * `rotate` by an angle drawn uniformly from `[−maxAngle, maxAngle)`: one draw per image, in float32 as TF's
 * `random_uniform` computes it, `lo + (hi − lo)·u`. TF counterpart: Keras `RandomRotation(factor)`, whose
 * factor is a fraction of a full turn (`maxAngle = 2π·factor`).
 */
export function randomRotation<D extends ImageDType>(
  image: Image<D>,
  maxAngle: number,
  rng: Random,
  options: RotateOptions = {},
): Image<D> {
  imageDims('randomRotation', image);
  checkRandom('randomRotation', rng);
  if (typeof maxAngle !== 'number' || !Number.isFinite(maxAngle) || maxAngle < 0) {
    throw invalidArgument('maxAngle', 'a non-negative finite number of radians', maxAngle, 'randomRotation');
  }
  const settings = rotateOptions('randomRotation', image, options); // validated before the draw
  return rotateBy(image, uniformRange(-maxAngle, maxAngle, rng), settings);
}

interface RotateSettings {
  fillValue: number;
  interpolation: RotateInterpolation;
}

function rotateOptions(stage: string, image: Image, options: unknown): RotateSettings {
  const o = objectOption(stage, 'options', options);
  const interpolation = oneOfOption(stage, 'interpolation', o.interpolation, INTERPOLATIONS, 'bilinear');
  return { fillValue: fillValueOption(stage, image, o.fillValue), interpolation };
}

function rotateBy<D extends ImageDType>(
  image: Image<D>,
  angle: number,
  { fillValue, interpolation }: RotateSettings,
): Image<D> {
  const [height, width, channels] = image.shape;
  const out = emptyLike(image, height, width, channels);
  const src = image.data;
  const dst = out.data;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  // Per-column products, so the inner loop is two adds; the order of operations is tfjs's.
  const columnCos = new Float64Array(width);
  const columnSin = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    columnCos[x] = (x - cx) * cos;
    columnSin[x] = (x - cx) * sin;
  }
  const xEnd = width - 0.5;
  const yEnd = height - 0.5;
  const rowLength = width * channels;
  const nearest = interpolation === 'nearest';
  const round = image.dtype === 'uint8';
  let o = 0;
  for (let y = 0; y < height; y++) {
    const rowSin = (y - cy) * sin;
    const rowCos = (y - cy) * cos;
    for (let x = 0; x < width; x++, o += channels) {
      const sx = columnCos[x] - rowSin + cx;
      const sy = columnSin[x] + rowCos + cy;
      if (!(sx >= -0.5 && sx < xEnd && sy >= -0.5 && sy < yEnd)) {
        for (let c = 0; c < channels; c++) dst[o + c] = fillValue;
        continue;
      }
      if (nearest) {
        const from = Math.round(sy) * rowLength + Math.round(sx) * channels;
        for (let c = 0; c < channels; c++) dst[o + c] = src[from + c];
        continue;
      }
      const px = Math.min(Math.max(sx, 0), width - 1);
      const py = Math.min(Math.max(sy, 0), height - 1);
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const wx = px - x0;
      const wy = py - y0;
      const left = x0 * channels;
      const right = Math.min(x0 + 1, width - 1) * channels;
      const top = y0 * rowLength;
      const bottom = Math.min(y0 + 1, height - 1) * rowLength;
      blendNeighbours(src, dst, o, top, bottom, left, right, wx, wy, channels, round);
    }
  }
  return out;
}
