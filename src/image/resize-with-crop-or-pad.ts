import { integerOption } from '../core/validate.js';
import { copyBlock } from './crop.js';
import { emptyLike, type Image, type ImageDType, imageDims } from './image.js';

const STAGE = 'resizeWithCropOrPad';

/**
 * TF's `tf.image.resize_image_with_crop_or_pad` (`resize_with_crop_or_pad` in TF 2): centre-crops
 * each axis longer than its target and zero-pads each shorter one, giving
 * `[targetHeight, targetWidth, channels]`, same dtype. Per axis:
 * `cropOffset = max(floor((size - target) / 2), 0)` and `padOffset = max(floor((target - size) / 2), 0)`,
 * so 32 -> 24 starts at 4, and with an odd difference the extra row/column is removed from, or added
 * at, the bottom/right. Done in one pass (TF crops, then pads). Targets must be positive integers
 * (TF: "target_width must be > 0."). Difference: 3-D images only.
 */
export function resizeWithCropOrPad<D extends ImageDType>(
  image: Image<D>,
  targetHeight: number,
  targetWidth: number,
): Image<D> {
  const { height, width, channels } = imageDims(STAGE, image);
  integerOption(STAGE, 'targetHeight', targetHeight, { min: 1 });
  integerOption(STAGE, 'targetWidth', targetWidth, { min: 1 });
  const cropY = Math.max(Math.floor((height - targetHeight) / 2), 0);
  const cropX = Math.max(Math.floor((width - targetWidth) / 2), 0);
  const padY = Math.max(Math.floor((targetHeight - height) / 2), 0);
  const padX = Math.max(Math.floor((targetWidth - width) / 2), 0);
  const out = emptyLike(image, targetHeight, targetWidth, channels);
  copyBlock(
    image,
    cropY,
    cropX,
    0,
    out,
    padY,
    padX,
    Math.min(height, targetHeight),
    Math.min(width, targetWidth),
    channels,
  );
  return out;
}
