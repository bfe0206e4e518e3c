import type { Image } from './image.js';

/**
 * Writes one output pixel at `dst[o..o + channels)` as the bilinear blend of the four source pixels at
 * `top + left`, `top + right`, `bottom + left` and `bottom + right` (flat offsets of row and column
 * starts), with weights `wx` across and `wy` down, in float64; `round` rounds to nearest for uint8
 * output. The sampling core shared by `rotate` and `zoom` (not `resizeBilinear`, which follows TF's
 * float32 steps).
 */
export function blendNeighbours(
  src: Image['data'],
  dst: Image['data'],
  o: number,
  top: number,
  bottom: number,
  left: number,
  right: number,
  wx: number,
  wy: number,
  channels: number,
  round: boolean,
): void {
  for (let c = 0; c < channels; c++) {
    const tl = src[top + left + c];
    const tr = src[top + right + c];
    const bl = src[bottom + left + c];
    const br = src[bottom + right + c];
    const t = tl + (tr - tl) * wx;
    const b = bl + (br - bl) * wx;
    const v = t + (b - t) * wy;
    dst[o + c] = round ? Math.round(v) : v;
  }
}
