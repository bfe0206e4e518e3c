import { invalidArgument } from '../core/errors.js';
import { copyBlock } from './crop.js';
import { emptyLike, type Image, type ImageDType, imageDims } from './image.js';

const STAGE = 'centralCrop';

/**
 * TF's `tf.image.central_crop`: the centred window keeping `centralFraction` of each spatial axis.
 * Per axis (in double, as TF): `start = trunc((S - S·f) / 2)`, `size = S - 2·start`; e.g. S = 5,
 * f = 0.5 gives rows 1..3. `centralFraction` must be in (0, 1] (TF's ValueError becomes an
 * `InvalidArgumentError`). Difference: `f == 1` returns a copy (TF returns the input tensor itself),
 * since ops never share their output with their input. 3-D images only.
 */
export function centralCrop<D extends ImageDType>(image: Image<D>, centralFraction: number): Image<D> {
  const { height, width, channels } = imageDims(STAGE, image);
  if (typeof centralFraction !== 'number' || !(centralFraction > 0 && centralFraction <= 1)) {
    throw invalidArgument('centralFraction', 'a number within (0, 1]', centralFraction, STAGE);
  }
  const startY = Math.trunc((height - height * centralFraction) / 2);
  const startX = Math.trunc((width - width * centralFraction) / 2);
  const cropHeight = height - 2 * startY;
  const cropWidth = width - 2 * startX;
  const out = emptyLike(image, cropHeight, cropWidth, channels);
  copyBlock(image, startY, startX, 0, out, 0, 0, cropHeight, cropWidth, channels);
  return out;
}
