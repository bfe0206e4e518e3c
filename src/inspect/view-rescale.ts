import { invalidArgument } from '../core/errors.js';
import { minMaxToUint8 } from '../core/min-max.js';
import { isTensor, type Tensor } from '../core/tensor.js';

/**
 * The one rule that turns an image tensor into viewable 8-bit pixels, shared by dumpSamples and
 * contactSheet. uint8 images are shown as they are. Every other dtype (float32 in [0, 1], [0, 255]
 * or standardized, int32, uint16...) is rescaled per image: the image's finite min..max maps linearly
 * onto 0..255, rounded; a constant image becomes 128 (mid gray, so "all zeros" and "all ones" look the
 * same on purpose: there is no contrast to show); +Infinity becomes 255, -Infinity and NaN 0.
 */

/** Pixels ready to write: uint8, HWC, 1..4 channels (gray, gray+alpha, RGB, RGBA). */
export interface ViewImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: 1 | 2 | 3 | 4;
}

/** The value a constant non-uint8 image is shown as. */
export const CONSTANT_VIEW_VALUE = 128;

/** Validates an HWC image with 1..4 channels and returns its viewable uint8 pixels. */
export function viewImage(image: unknown, stage: string, parameter = 'image'): ViewImage {
  const expected = 'an image tensor of shape [height, width, 1 | 2 | 3 | 4]';
  if (!isTensor(image)) throw invalidArgument(parameter, expected, image, stage);
  const shape = image.shape;
  const valid =
    shape.length === 3 &&
    shape.every((d) => Number.isInteger(d) && d >= 1) &&
    shape[2] <= 4 &&
    image.data.length === shape[0] * shape[1] * shape[2];
  if (!valid) {
    throw invalidArgument(
      parameter,
      expected,
      `a ${image.dtype} tensor of shape [${shape.join(', ')}]`,
      stage,
    );
  }
  const [height, width, channels] = shape as [number, number, 1 | 2 | 3 | 4];
  const data = image.dtype === 'uint8' ? (image.data as Uint8Array) : rescaleForView(image);
  return { data, height, width, channels };
}

/** Per-image min-max onto 0..255 (see the module comment); a constant image gives 128 everywhere. */
export function rescaleForView(image: Tensor): Uint8Array {
  return minMaxToUint8(image.data, CONSTANT_VIEW_VALUE);
}
