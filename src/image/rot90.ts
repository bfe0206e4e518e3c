import { integerOption } from '../core/validate.js';
import { copyImage, emptyLike, type Image, type ImageDType, imageDims } from './image.js';

const STAGE = 'rot90';

/**
 * TF's `tf.image.rot90`: rotates counter-clockwise by 90° `k` times. `k` is any integer, negative
 * turning clockwise, taken modulo 4. Odd `k` gives shape `[W, H, C]`. With TF's building blocks:
 * k = 1 is `transpose(reverse(image, axis 1))`, k = 2 is `reverse(image, axes 0 and 1)`,
 * k = 3 is `reverse(transpose(image), axis 1)`; k ≡ 0 returns a copy. Difference: 3-D images only.
 */
export function rot90<D extends ImageDType>(image: Image<D>, k = 1): Image<D> {
  const { height, width, channels } = imageDims(STAGE, image);
  integerOption(STAGE, 'k', k, {});
  const turns = ((k % 4) + 4) % 4;
  if (turns === 0) return copyImage(image);
  const odd = turns % 2 === 1;
  const out = emptyLike(image, odd ? width : height, odd ? height : width, channels);
  const s = image.data;
  const d = out.data;
  // Walk the output in order; each output pixel reads one source pixel (row y, column x), and the
  // source index moves by a fixed step along an output row.
  const outHeight = out.shape[0];
  const outWidth = out.shape[1];
  const rowStride = width * channels;
  let start: number; // source index of output pixel (i, 0), as start0 + i * startStep
  let startStep: number;
  let step: number; // source index change per output column
  if (turns === 1) {
    // out[i, j] = in[j, W - 1 - i]
    start = (width - 1) * channels;
    startStep = -channels;
    step = rowStride;
  } else if (turns === 2) {
    // out[i, j] = in[H - 1 - i, W - 1 - j]
    start = (height - 1) * rowStride + (width - 1) * channels;
    startStep = -rowStride;
    step = -channels;
  } else {
    // out[i, j] = in[H - 1 - j, i]
    start = (height - 1) * rowStride;
    startStep = channels;
    step = -rowStride;
  }
  let to = 0;
  for (let i = 0; i < outHeight; i++) {
    let from = start + i * startStep;
    if (channels === 3) {
      // The common RGB case, unrolled: several times faster than the generic channel loop.
      for (let j = 0; j < outWidth; j++) {
        d[to] = s[from];
        d[to + 1] = s[from + 1];
        d[to + 2] = s[from + 2];
        to += 3;
        from += step;
      }
      continue;
    }
    for (let j = 0; j < outWidth; j++) {
      for (let c = 0; c < channels; c++) d[to + c] = s[from + c];
      to += channels;
      from += step;
    }
  }
  return out;
}
