import { invalidArgument } from '../core/errors.js';
import { copyBlock } from './crop.js';
import { checkRandom, emptyLike, type Image, type ImageDType, imageDims, type Random } from './image.js';

const STAGE = 'randomCrop';

/**
 * TF's `tf.image.random_crop`: a window of `size` at an offset drawn uniformly and independently per
 * dimension from [0, shape - size], same dtype.
 *
 * `size` is `[height, width, channels]` as in TF (a channel count below the image's also takes a
 * random run of channels) or `[height, width]`, keeping all channels. One `rng.below(limit)` per
 * dimension, in order height, width, channels, with `limit = shape - size + 1`; a dimension with
 * limit 1 takes offset 0 without a draw, so `[h, w]` and `[h, w, C]` draw alike.
 * A size larger than the image is an `InvalidArgumentError` (TF: "Need value.shape >= size"); there is
 * no padding, as in TF. Difference: offsets are unbiased (TF takes `u mod limit`, biased by < 2^-20).
 */
export function randomCrop<D extends ImageDType>(
  image: Image<D>,
  size: readonly [number, number, number] | readonly [number, number],
  rng: Random,
): Image<D> {
  const { height, width, channels } = imageDims(STAGE, image);
  checkRandom(STAGE, rng);
  if (
    !Array.isArray(size) ||
    (size.length !== 2 && size.length !== 3) ||
    !size.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0)
  ) {
    throw invalidArgument(
      'size',
      '[height, width] or [height, width, channels] of non-negative integers',
      size,
      STAGE,
    );
  }
  const cropHeight = size[0];
  const cropWidth = size[1];
  const cropChannels = size.length === 3 ? size[2] : channels;
  if (cropHeight > height || cropWidth > width || cropChannels > channels) {
    throw invalidArgument(
      'size',
      `a size no larger than the image shape [${height}, ${width}, ${channels}] (Need value.shape >= size)`,
      size,
      STAGE,
    );
  }
  const offsetY = draw(rng, height - cropHeight + 1);
  const offsetX = draw(rng, width - cropWidth + 1);
  const offsetC = draw(rng, channels - cropChannels + 1);
  const out = emptyLike(image, cropHeight, cropWidth, cropChannels);
  copyBlock(image, offsetY, offsetX, offsetC, out, 0, 0, cropHeight, cropWidth, cropChannels);
  return out;
}

function draw(rng: Random, limit: number): number {
  return limit === 1 ? 0 : rng.below(limit);
}
