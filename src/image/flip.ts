import {
  checkRandom,
  copyImage,
  emptyLike,
  type Image,
  type ImageDType,
  imageDims,
  type Random,
} from './image.js';

/**
 * TF's `tf.image.flip_left_right`: reverses the columns (axis 1). Same shape and dtype.
 * Difference: 3-D images only (TF also takes a 4-D batch).
 */
export function flipLeftRight<D extends ImageDType>(image: Image<D>): Image<D> {
  imageDims('flipLeftRight', image);
  return mirrorColumns(image);
}

/**
 * TF's `tf.image.flip_up_down`: reverses the rows (axis 0). Same shape and dtype.
 * Difference: 3-D images only (TF also takes a 4-D batch).
 */
export function flipUpDown<D extends ImageDType>(image: Image<D>): Image<D> {
  imageDims('flipUpDown', image);
  return mirrorRows(image);
}

/**
 * TF's `tf.image.random_flip_left_right` on one image: draws `u = rng.uniformFloat32()` once and flips
 * iff `u < 0.5`; otherwise returns an unflipped copy.
 */
export function randomFlipLeftRight<D extends ImageDType>(image: Image<D>, rng: Random): Image<D> {
  imageDims('randomFlipLeftRight', image);
  checkRandom('randomFlipLeftRight', rng);
  return rng.uniformFloat32() < 0.5 ? mirrorColumns(image) : copyImage(image);
}

/**
 * TF's `tf.image.random_flip_up_down` on one image: draws `u = rng.uniformFloat32()` once and flips
 * iff `u < 0.5`; otherwise returns an unflipped copy.
 */
export function randomFlipUpDown<D extends ImageDType>(image: Image<D>, rng: Random): Image<D> {
  imageDims('randomFlipUpDown', image);
  checkRandom('randomFlipUpDown', rng);
  return rng.uniformFloat32() < 0.5 ? mirrorRows(image) : copyImage(image);
}

/** Reverses axis 1 of an already validated image. */
function mirrorColumns<D extends ImageDType>(image: Image<D>): Image<D> {
  const [height, width, channels] = image.shape;
  const out = emptyLike(image, height, width, channels);
  const s = image.data;
  const d = out.data;
  const rowLength = width * channels;
  for (let y = 0; y < height; y++) {
    const row = y * rowLength;
    let to = row;
    if (channels === 3) {
      // The common RGB case, unrolled: several times faster than the generic channel loop.
      for (let from = row + rowLength - 3; from >= row; from -= 3) {
        d[to] = s[from];
        d[to + 1] = s[from + 1];
        d[to + 2] = s[from + 2];
        to += 3;
      }
      continue;
    }
    for (let x = width - 1; x >= 0; x--) {
      const from = row + x * channels;
      for (let c = 0; c < channels; c++) d[to + c] = s[from + c];
      to += channels;
    }
  }
  return out;
}

/** Reverses axis 0 of an already validated image. */
function mirrorRows<D extends ImageDType>(image: Image<D>): Image<D> {
  const [height, width, channels] = image.shape;
  const out = emptyLike(image, height, width, channels);
  const rowLength = width * channels;
  for (let y = 0; y < height; y++) {
    const from = (height - 1 - y) * rowLength;
    out.data.set(image.data.subarray(from, from + rowLength), y * rowLength);
  }
  return out;
}
