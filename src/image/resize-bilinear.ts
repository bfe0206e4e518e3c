import { invalidArgument } from '../core/errors.js';
import { booleanOption, objectOption } from '../core/validate.js';
import { type Image, imageDims } from './image.js';

export interface ResizeOptions {
  /** Map the corner pixel centres of input and output onto each other (TF's `align_corners`, default false). */
  alignCorners?: boolean;
  /** Sample at pixel centres, `(d + 0.5)·scale − 0.5` (TF's `half_pixel_centers`, default false). */
  halfPixelCenters?: boolean;
}

/**
 * TF's `ResizeBilinear` kernel (`tf.image.resize_images(..., method=BILINEAR)` in TF 1, or
 * `tf.compat.v1.image.resize_bilinear`) on one HWC image. Output is float32 whatever the input dtype.
 *
 * Per axis, in float32: `scale = (alignCorners && out > 1) ? (in − 1)/(out − 1) : in/out`; output index `d`
 * samples `src = d·scale` (legacy, TF 1's default) or `(d + 0.5)·scale − 0.5` (half-pixel centres);
 * `lo = max(floor(src), 0)`, `hi = min(ceil(src), in − 1)`, `w = src − floor(src)`; then
 * `top = TL + (TR − TL)·wx`, `bottom = BL + (BR − BL)·wx`, `out = top + (bottom − top)·wy`, each step
 * rounded to float32 as the kernel computes it. Same size gives a float32 copy (the kernel's no-op path).
 * Differences: 3-D images only; `size` is validated eagerly (`InvalidArgumentError` for anything but two
 * positive integers, or for both corner flags set).
 */
export function resizeBilinear(
  image: Image,
  size: readonly [number, number],
  options: ResizeOptions = {},
): Image<'float32'> {
  const r = resizeArguments('resizeBilinear', image, size, options);
  const { height, width, channels, outHeight, outWidth } = r;
  const out = new Float32Array(outHeight * outWidth * channels);
  const src = image.data;
  if (outHeight === height && outWidth === width) {
    out.set(src);
    return { dtype: 'float32', shape: [outHeight, outWidth, channels], data: out };
  }
  const rowLength = width * channels;
  const ys = interpolationWeights(outHeight, height, r.heightScale, r.halfPixelCenters, rowLength);
  const xs = interpolationWeights(outWidth, width, r.widthScale, r.halfPixelCenters, channels);
  const f = Math.fround;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const top = ys.lower[y];
    const bottom = ys.upper[y];
    const wy = ys.lerp[y];
    for (let x = 0; x < outWidth; x++) {
      const left = xs.lower[x];
      const right = xs.upper[x];
      const wx = xs.lerp[x];
      for (let c = 0; c < channels; c++) {
        const tl = src[top + left + c];
        const tr = src[top + right + c];
        const bl = src[bottom + left + c];
        const br = src[bottom + right + c];
        const t = f(tl + f(f(tr - tl) * wx));
        const b = f(bl + f(f(br - bl) * wx));
        out[o++] = t + f(f(b - t) * wy);
      }
    }
  }
  return { dtype: 'float32', shape: [outHeight, outWidth, channels], data: out };
}

/** Per output index along one axis: the two source offsets (already multiplied by `stride`) and the weight. */
interface AxisWeights {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float32Array;
}

/** TF's `compute_interpolation_weights`, in float32. */
function interpolationWeights(
  outSize: number,
  inSize: number,
  scale: number,
  halfPixelCenters: boolean,
  stride: number,
): AxisWeights {
  const f = Math.fround;
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = halfPixelCenters ? f(f((d + 0.5) * scale) - 0.5) : f(d * scale);
    const floor = Math.floor(src);
    lower[d] = Math.max(floor, 0) * stride;
    upper[d] = Math.min(Math.ceil(src), inSize - 1) * stride;
    // Unclamped, as in TF: at src < 0 both indices are 0, so the weight has no effect.
    lerp[d] = src - floor;
  }
  return { lower, upper, lerp };
}

/** @internal Validated arguments shared by the two resize kernels. */
export interface ResizeArguments {
  height: number;
  width: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  alignCorners: boolean;
  halfPixelCenters: boolean;
  /** float32 source pixels per output pixel, TF's `CalculateResizeScale`. */
  heightScale: number;
  widthScale: number;
}

/** @internal Validates a resize call (image, `[newHeight, newWidth]`, corner flags) and computes the scales. */
export function resizeArguments(
  op: string,
  image: unknown,
  size: unknown,
  options: unknown,
): ResizeArguments {
  const { height, width, channels } = imageDims(op, image);
  if (
    !Array.isArray(size) ||
    size.length !== 2 ||
    !size.every((s) => typeof s === 'number' && Number.isSafeInteger(s) && s > 0)
  ) {
    throw invalidArgument('size', 'an array [newHeight, newWidth] of two positive integers', size, op);
  }
  const o = objectOption(op, 'options', options);
  const alignCorners = booleanOption(op, 'alignCorners', o.alignCorners, false);
  const halfPixelCenters = booleanOption(op, 'halfPixelCenters', o.halfPixelCenters, false);
  if (alignCorners && halfPixelCenters) {
    throw invalidArgument('halfPixelCenters', 'false when alignCorners is true', halfPixelCenters, op);
  }
  const [outHeight, outWidth] = size as [number, number];
  return {
    height,
    width,
    channels,
    outHeight,
    outWidth,
    alignCorners,
    halfPixelCenters,
    heightScale: resizeScale(height, outHeight, alignCorners),
    widthScale: resizeScale(width, outWidth, alignCorners),
  };
}

function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1
    ? Math.fround((inSize - 1) / (outSize - 1))
    : Math.fround(inSize / outSize);
}
