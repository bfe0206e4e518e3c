import { invalidArgument } from '../core/errors.js';
import { integerOption } from '../core/validate.js';
import { emptyLike, type Image, type ImageDType, imageDims } from './image.js';

const STAGE = 'crop';

/**
 * TF's `tf.image.crop_to_bounding_box`: the `targetHeight` x `targetWidth` window whose top-left
 * corner is at (`offsetHeight`, `offsetWidth`), all channels, same dtype.
 *
 * TF's run-time asserts become `InvalidArgumentError`s naming the parameter: offsets >= 0,
 * targets > 0, `offsetHeight + targetHeight <= height` and `offsetWidth + targetWidth <= width`.
 * Difference: 3-D images only (TF also takes a 4-D batch).
 */
export function crop<D extends ImageDType>(
  image: Image<D>,
  offsetHeight: number,
  offsetWidth: number,
  targetHeight: number,
  targetWidth: number,
): Image<D> {
  const box = [offsetHeight, offsetWidth, targetHeight, targetWidth] as const;
  const { height, width, channels } = boundingBoxArguments(STAGE, image, box, { min: 1 });
  if (offsetHeight + targetHeight > height) {
    throw invalidArgument(
      'targetHeight',
      `at most ${height - offsetHeight} (image height ${height} minus offsetHeight ${offsetHeight})`,
      targetHeight,
      STAGE,
    );
  }
  if (offsetWidth + targetWidth > width) {
    throw invalidArgument(
      'targetWidth',
      `at most ${width - offsetWidth} (image width ${width} minus offsetWidth ${offsetWidth})`,
      targetWidth,
      STAGE,
    );
  }
  const out = emptyLike(image, targetHeight, targetWidth, channels);
  copyBlock(image, offsetHeight, offsetWidth, 0, out, 0, 0, targetHeight, targetWidth, channels);
  return out;
}

/**
 * Validates the arguments `crop` and `padToBoundingBox` share: an image, non-negative integer offsets
 * and integer targets in `targetRange` (TF's asserts). Returns the image dimensions.
 */
export function boundingBoxArguments(
  stage: string,
  image: unknown,
  [offsetHeight, offsetWidth, targetHeight, targetWidth]: readonly [number, number, number, number],
  targetRange: { min?: number },
): { height: number; width: number; channels: number } {
  const dims = imageDims(stage, image);
  integerOption(stage, 'offsetHeight', offsetHeight, { min: 0 });
  integerOption(stage, 'offsetWidth', offsetWidth, { min: 0 });
  integerOption(stage, 'targetHeight', targetHeight, targetRange);
  integerOption(stage, 'targetWidth', targetWidth, targetRange);
  return dims;
}

/**
 * Copies the `height` x `width` x `channels` block of `src` starting at (`srcY`, `srcX`, `srcC`) into
 * `dst` at (`dstY`, `dstX`, 0). The building block of every crop and pad; callers check bounds.
 * Whole pixels are copied a row at a time (one memmove per row) because crops run per example.
 */
export function copyBlock(
  src: Image,
  srcY: number,
  srcX: number,
  srcC: number,
  dst: Image,
  dstY: number,
  dstX: number,
  height: number,
  width: number,
  channels: number,
): void {
  const srcWidth = src.shape[1];
  const srcChannels = src.shape[2];
  const dstWidth = dst.shape[1];
  const dstChannels = dst.shape[2];
  const s = src.data;
  const d = dst.data;
  if (channels === srcChannels && channels === dstChannels) {
    const rowLength = width * channels;
    if (width === srcWidth && width === dstWidth) {
      // Full-width rows are contiguous on both sides: one copy for the whole block.
      const from = srcY * rowLength;
      d.set(s.subarray(from, from + height * rowLength), dstY * rowLength);
      return;
    }
    for (let y = 0; y < height; y++) {
      const from = ((srcY + y) * srcWidth + srcX) * channels;
      d.set(s.subarray(from, from + rowLength), ((dstY + y) * dstWidth + dstX) * channels);
    }
    return;
  }
  for (let y = 0; y < height; y++) {
    let from = ((srcY + y) * srcWidth + srcX) * srcChannels + srcC;
    let to = ((dstY + y) * dstWidth + dstX) * dstChannels;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) d[to + c] = s[from + c];
      from += srcChannels;
      to += dstChannels;
    }
  }
}
