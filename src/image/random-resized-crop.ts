import { invalidArgument } from '../core/errors.js';
import { objectOption, oneOfOption } from '../core/validate.js';
import { crop } from './crop.js';
import { type Image, imageDims, type Random } from './image.js';
import { resizeNearestNeighbor } from './resize-nearest-neighbor.js';

export type ResizedCropInterpolation = 'bilinear' | 'nearest';

export interface ResizedCropBoxOptions {
  /** Range of the box's area as a fraction of the image's, `[min, max]` (default `[0.08, 1]`). */
  scale?: readonly [number, number];
  /** Range of the box's width / height, `[min, max]`, drawn log-uniformly (default `[3/4, 4/3]`). */
  ratio?: readonly [number, number];
}

export interface RandomResizedCropOptions extends ResizedCropBoxOptions {
  /** How the box is resized to the output size (default 'bilinear'); both use half-pixel centres. */
  interpolation?: ResizedCropInterpolation;
}

/** A crop box in pixels: rows `[top, top + height)`, columns `[left, left + width)`. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

const ATTEMPTS = 10;
const DEFAULT_SCALE: readonly [number, number] = [0.08, 1];
const DEFAULT_RATIO: readonly [number, number] = [3 / 4, 4 / 3];

/**
 * The box of torchvision's `RandomResizedCrop.get_params` (torchvision 0.14) for an
 * `imageHeight` x `imageWidth` image. Up to 10 attempts, each drawing the area fraction
 * `s ~ U[scale)` and the aspect ratio `r = exp(U[log ratio))` in float32 (as torch does),
 * `w = round(√(area·s·r))`, `h = round(√(area·s/r))` with Python's round-half-to-even; the first box
 * that fits gets `top = below(H − h + 1)`, then `left = below(W − w + 1)`. If none fits, the
 * fallback is a centred box: the whole image if its ratio is within `ratio`, else the largest box at
 * the nearest ratio bound.
 *
 * Returned on its own so a caller can hand the box to a decoder that crops and resizes natively
 * (e.g. sharp's `extract` + `resize`). Difference from torchvision: the fallback box is at least
 * 1 pixel on each side (torchvision returns an empty box when the bound ratio rounds it to 0), and
 * `scale`/`ratio` with min > max are errors (torchvision only warns).
 */
export function sampleResizedCropBox(
  imageHeight: number,
  imageWidth: number,
  rng: Random,
  options: ResizedCropBoxOptions = {},
): CropBox {
  const op = 'sampleResizedCropBox';
  positiveInteger(op, 'imageHeight', imageHeight);
  positiveInteger(op, 'imageWidth', imageWidth);
  const { scale, ratio } = boxOptions(op, objectOption(op, 'options', options));
  return sampleBox(imageHeight, imageWidth, rng, scale, ratio);
}

/**
 * torchvision's `RandomResizedCrop(size, scale, ratio)`: a box from `sampleResizedCropBox`, cropped
 * and resized to `size = [height, width]`, float32 `[height, width, channels]` (values keep the input's
 * range: 0..255 for uint8). Bilinear is TF's `resize_bilinear` with `half_pixel_centers`, the sampling
 * grid torchvision and PIL use, computed straight from the box (bit-identical to
 * `resizeBilinear(crop(image, box), size, { halfPixelCenters: true })`); 'nearest' is TF's
 * `resize_nearest_neighbor` with half-pixel centres. Differences: PIL's bilinear widens its filter
 * when shrinking (antialiasing), this one, like TF's, samples the 4 nearest pixels, so downscaled
 * boxes are sharper than torchvision's; the random bits are inqueue's, not torch's generator (same
 * draws, same order: two uniforms per attempt, then top, then left).
 */
export function randomResizedCrop(
  image: Image,
  size: readonly [number, number],
  rng: Random,
  options: RandomResizedCropOptions = {},
): Image<'float32'> {
  const op = 'randomResizedCrop';
  const { height, width } = imageDims(op, image);
  if (
    !Array.isArray(size) ||
    size.length !== 2 ||
    !size.every((s) => typeof s === 'number' && Number.isSafeInteger(s) && s > 0)
  ) {
    throw invalidArgument('size', 'an array [height, width] of two positive integers', size, op);
  }
  const o = objectOption(op, 'options', options);
  const { scale, ratio } = boxOptions(op, o);
  const interpolation = oneOfOption(
    op,
    'interpolation',
    o.interpolation,
    ['bilinear', 'nearest'],
    'bilinear',
  );
  const box = sampleBox(height, width, rng, scale, ratio);
  if (interpolation === 'bilinear') return resizeBoxBilinear(image, box, size[0], size[1]);
  const cropped = crop(image, box.top, box.left, box.height, box.width);
  const nearest = resizeNearestNeighbor(cropped, size, { halfPixelCenters: true });
  return nearest.dtype === 'float32'
    ? (nearest as Image<'float32'>)
    : { dtype: 'float32', shape: nearest.shape, data: Float32Array.from(nearest.data) };
}

/**
 * `resizeBilinear(crop(image, box), [outHeight, outWidth], { halfPixelCenters: true })`, bit for bit, without
 * the crop copy and with the same float32 steps in separable order: each source row the output needs is
 * interpolated horizontally once (TF's `top` and `bottom` values), then output rows blend two such rows.
 * Downscaling a box to 224x224 costs about half of the 3-lerps-per-sample kernel this way.
 */
function resizeBoxBilinear(
  image: Image,
  box: CropBox,
  outHeight: number,
  outWidth: number,
): Image<'float32'> {
  const channels = image.shape[2];
  const rowLength = image.shape[1] * channels;
  const src = image.data;
  const out = new Float32Array(outHeight * outWidth * channels);
  const result: Image<'float32'> = { dtype: 'float32', shape: [outHeight, outWidth, channels], data: out };
  if (box.height === outHeight && box.width === outWidth) {
    // TF's kernel is a no-op copy at the same size (so NaN/Infinity are not blended).
    for (let y = 0; y < outHeight; y++) {
      const from = (box.top + y) * rowLength + box.left * channels;
      out.set(src.subarray(from, from + outWidth * channels), y * outWidth * channels);
    }
    return result;
  }
  const f = Math.fround;
  const ys = halfPixelWeights(outHeight, box.height, box.top, 1);
  const xs = halfPixelWeights(outWidth, box.width, box.left, channels);
  const n = outWidth * channels;
  const rows = [new Float32Array(n), new Float32Array(n)];
  const tags = [-1, -1];
  for (let y = 0, o = 0; y < outHeight; y++) {
    const lo = ys.lower[y];
    const hi = ys.upper[y];
    let t = tags[0] === lo ? 0 : tags[1] === lo ? 1 : -1;
    if (t < 0) {
      t = tags[0] === hi ? 1 : 0;
      interpolateRow(src, lo * rowLength, xs, channels, rows[t]);
      tags[t] = lo;
    }
    let b = tags[0] === hi ? 0 : tags[1] === hi ? 1 : -1;
    if (b < 0) {
      b = 1 - t;
      interpolateRow(src, hi * rowLength, xs, channels, rows[b]);
      tags[b] = hi;
    }
    const top = rows[t];
    const bottom = rows[b];
    const wy = ys.lerp[y];
    for (let i = 0; i < n; i++, o++) out[o] = top[i] + f(f(bottom[i] - top[i]) * wy);
  }
  return result;
}

/** One source row blended horizontally at every output column: TF's `tl + (tr − tl)·wx`, in float32. */
function interpolateRow(
  src: Image['data'],
  row: number,
  xs: AxisWeights,
  channels: number,
  dst: Float32Array,
) {
  const f = Math.fround;
  const { lower, upper, lerp } = xs;
  const width = lower.length;
  if (channels === 3) {
    for (let x = 0, o = 0; x < width; x++, o += 3) {
      const l = row + lower[x];
      const r = row + upper[x];
      const w = lerp[x];
      dst[o] = src[l] + f(f(src[r] - src[l]) * w);
      dst[o + 1] = src[l + 1] + f(f(src[r + 1] - src[l + 1]) * w);
      dst[o + 2] = src[l + 2] + f(f(src[r + 2] - src[l + 2]) * w);
    }
    return;
  }
  for (let x = 0, o = 0; x < width; x++) {
    const l = row + lower[x];
    const r = row + upper[x];
    const w = lerp[x];
    for (let c = 0; c < channels; c++, o++) dst[o] = src[l + c] + f(f(src[r + c] - src[l + c]) * w);
  }
}

interface AxisWeights {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float32Array;
}

/**
 * TF's `compute_interpolation_weights` with half-pixel centres for a box of `inSize` starting at `start`:
 * the two source indices (offset by `start`, times `stride`) and the weight, all in float32.
 */
function halfPixelWeights(outSize: number, inSize: number, start: number, stride: number): AxisWeights {
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = f(f((d + 0.5) * scale) - 0.5);
    const floor = Math.floor(src);
    lower[d] = (start + Math.max(floor, 0)) * stride;
    upper[d] = (start + Math.min(Math.ceil(src), inSize - 1)) * stride;
    lerp[d] = src - floor;
  }
  return { lower, upper, lerp };
}

function sampleBox(
  height: number,
  width: number,
  rng: Random,
  scale: readonly [number, number],
  ratio: readonly [number, number],
): CropBox {
  const f = Math.fround;
  const area = height * width;
  const scaleLo = f(scale[0]);
  const scaleSpan = f(f(scale[1]) - scaleLo);
  const logLo = f(Math.log(ratio[0]));
  const logSpan = f(f(Math.log(ratio[1])) - logLo);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const targetArea = area * f(scaleLo + f(scaleSpan * rng.uniformFloat32()));
    const aspect = f(Math.exp(f(logLo + f(logSpan * rng.uniformFloat32()))));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.below(height - h + 1);
      const left = rng.below(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  // torchvision's fallback: a central crop, clamped to the ratio range.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.max(1, roundHalfEven(width / ratio[0]));
  else if (inRatio > ratio[1]) w = Math.max(1, roundHalfEven(height * ratio[1]));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Python 3's `round(x)` for x >= 0: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function boxOptions(
  op: string,
  o: Record<string, unknown>,
): { scale: readonly [number, number]; ratio: readonly [number, number] } {
  const scale = rangeOption(op, 'scale', o.scale, DEFAULT_SCALE, 0, 'non-negative');
  if (scale[1] === 0) throw invalidArgument('scale', 'a range with max > 0', o.scale, op);
  const ratio = rangeOption(op, 'ratio', o.ratio, DEFAULT_RATIO, Number.MIN_VALUE, 'positive');
  return { scale, ratio };
}

function rangeOption(
  op: string,
  name: string,
  value: unknown,
  defaultValue: readonly [number, number],
  min: number,
  what: string,
): readonly [number, number] {
  if (value === undefined) return defaultValue;
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= min)
  ) {
    throw invalidArgument(name, `an array [min, max] of two ${what} finite numbers`, value, op);
  }
  if (value[0] > value[1]) throw invalidArgument(name, 'a range with min <= max', value, op);
  return value as unknown as readonly [number, number];
}

function positiveInteger(op: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalidArgument(name, 'a positive integer', value, op);
  }
}
