import { invalidArgument } from '../core/errors.js';
import { boundingBoxArguments, copyBlock } from './crop.js';
import { emptyLike, type Image, type ImageDType } from './image.js';

const STAGE = 'padToBoundingBox';

/**
 * TF's `tf.image.pad_to_bounding_box`: a zero image of `targetHeight` x `targetWidth` with `image`
 * placed so its top-left corner lands at (`offsetHeight`, `offsetWidth`). Same dtype, same channels.
 *
 * TF's asserts become `InvalidArgumentError`s naming the parameter: offsets >= 0 and
 * `targetHeight >= offsetHeight + height` (likewise for width).
 * Difference: 3-D images only (TF also takes a 4-D batch).
 */
export function padToBoundingBox<D extends ImageDType>(
  image: Image<D>,
  offsetHeight: number,
  offsetWidth: number,
  targetHeight: number,
  targetWidth: number,
): Image<D> {
  const box = [offsetHeight, offsetWidth, targetHeight, targetWidth] as const;
  const { height, width, channels } = boundingBoxArguments(STAGE, image, box, {});
  if (targetHeight < offsetHeight + height) {
    throw invalidArgument(
      'targetHeight',
      `at least ${offsetHeight + height} (offsetHeight ${offsetHeight} plus image height ${height})`,
      targetHeight,
      STAGE,
    );
  }
  if (targetWidth < offsetWidth + width) {
    throw invalidArgument(
      'targetWidth',
      `at least ${offsetWidth + width} (offsetWidth ${offsetWidth} plus image width ${width})`,
      targetWidth,
      STAGE,
    );
  }
  const out = emptyLike(image, targetHeight, targetWidth, channels);
  copyBlock(image, 0, 0, 0, out, offsetHeight, offsetWidth, height, width, channels);
  return out;
}
