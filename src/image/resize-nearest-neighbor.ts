import { emptyLike, type Image, type ImageDType } from './image.js';
import { type ResizeOptions, resizeArguments } from './resize-bilinear.js';

/**
 * TF's `ResizeNearestNeighbor` kernel (`tf.image.resize_images(..., method=NEAREST_NEIGHBOR)` in TF 1, or
 * `tf.compat.v1.image.resize_nearest_neighbor`) on one HWC image. Same dtype out.
 *
 * Per axis, in float32 with `scale` as in `resizeBilinear`: `src = d·scale` (legacy) or `(d + 0.5)·scale`
 * (half-pixel centres: no `− 0.5`, the floor does the centring); `index = min(alignCorners ? round(src) :
 * floor(src), in − 1)`, and with half-pixel centres `max(index, 0)`. These are the rules of TF's kernel
 * and of tfjs's cpu kernel. Difference from tfjs: TF (and this op) computes `src` in float32, tfjs in
 * float64, so where `src` is mathematically an integer (for example 2 → 82 rows, row 41) the two can
 * pick neighbouring source rows; this op follows TF.
 */
export function resizeNearestNeighbor<D extends ImageDType>(
  image: Image<D>,
  size: readonly [number, number],
  options: ResizeOptions = {},
): Image<D> {
  const r = resizeArguments('resizeNearestNeighbor', image, size, options);
  const { width, channels, outHeight, outWidth } = r;
  const rows = nearestIndices(outHeight, r.height, r.heightScale, r.alignCorners, r.halfPixelCenters);
  const columns = nearestIndices(outWidth, width, r.widthScale, r.alignCorners, r.halfPixelCenters);
  const out = emptyLike(image, outHeight, outWidth, channels);
  const src = image.data;
  const dst = out.data;
  const rowLength = width * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const row = rows[y] * rowLength;
    for (let x = 0; x < outWidth; x++) {
      const from = row + columns[x] * channels;
      for (let c = 0; c < channels; c++) dst[o++] = src[from + c];
    }
  }
  return out;
}

/** The source index of every output index along one axis (TF's `compute_indices`). */
function nearestIndices(
  outSize: number,
  inSize: number,
  scale: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Int32Array {
  const indices = new Int32Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.fround((halfPixelCenters ? d + 0.5 : d) * scale);
    // roundf rounds halves away from zero; src >= 0, so Math.round agrees.
    let index = Math.min(alignCorners ? Math.round(src) : Math.floor(src), inSize - 1);
    if (halfPixelCenters) index = Math.max(index, 0);
    indices[d] = index;
  }
  return indices;
}
