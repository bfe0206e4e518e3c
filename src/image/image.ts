import { invalidArgument } from '../core/errors.js';
import { isTensor, type Tensor } from '../core/tensor.js';

/**
 * Images are Tensor values of rank 3, `[height, width, channels]`, row-major (HWC), uint8 or
 * float32. Every image op is a pure function of its inputs (and, for random ops, of the draws it
 * takes from the `Random` it is given), returning a new image and never mutating its input.
 */
export type ImageDType = 'uint8' | 'float32';
export type Image<D extends ImageDType = ImageDType> = Tensor<D>;

/** What random ops draw from; `CounterRng` implements it. One source per example keeps runs reproducible. */
export interface Random {
  /** Uniform uint32. */
  nextUint32(): number;
  /** Uniform double in [0, 1). */
  uniform(): number;
  /** Uniform float32 in [0, 1), as TF's random_uniform draws it. */
  uniformFloat32(): number;
  /** Uniform integer in [0, n). */
  below(n: number): number;
}

const RANDOM_METHODS = ['nextUint32', 'uniform', 'uniformFloat32', 'below'] as const;

/**
 * Checks that a random op's `rng` has every `Random` method, so a wrong argument fails as an
 * `InvalidArgumentError` before any draw rather than as a TypeError halfway through.
 */
export function checkRandom(op: string, rng: unknown): asserts rng is Random {
  const methods = rng as Partial<Record<(typeof RANDOM_METHODS)[number], unknown>> | null;
  if (
    typeof methods !== 'object' ||
    methods === null ||
    !RANDOM_METHODS.every((name) => typeof methods[name] === 'function')
  ) {
    throw invalidArgument('rng', 'a Random (e.g. new CounterRng(seed, op))', rng, op);
  }
}

/** Checks that `image` is an HWC uint8/float32 image and returns its dimensions. */
export function imageDims(
  op: string,
  image: unknown,
  name = 'image',
): { height: number; width: number; channels: number } {
  if (
    !isTensor(image) ||
    image.shape.length !== 3 ||
    (image.dtype !== 'uint8' && image.dtype !== 'float32')
  ) {
    throw invalidArgument(
      name,
      'a uint8 or float32 image tensor of shape [height, width, channels]',
      describeTensor(image),
      op,
    );
  }
  const [height, width, channels] = image.shape;
  if (image.data.length !== height * width * channels) {
    throw invalidArgument(
      name,
      `data of length ${height * width * channels} for shape [${image.shape.join(', ')}]`,
      image.data.length,
      op,
    );
  }
  return { height, width, channels };
}

/** `imageDims`, plus TF's check that the image is RGB (3 channels), as the colour ops require. */
export function rgbDims(op: string, image: unknown): void {
  const { height, width, channels } = imageDims(op, image);
  if (channels !== 3) {
    throw invalidArgument(
      'image',
      'an RGB image with 3 channels',
      `a ${(image as Image).dtype} image of shape [${height}, ${width}, ${channels}]`,
      op,
    );
  }
}

function describeTensor(value: unknown): unknown {
  return isTensor(value) ? `a ${value.dtype} tensor of shape [${value.shape.join(', ')}]` : value;
}

/** A new image of the same dtype with the given shape. */
export function emptyLike<D extends ImageDType>(
  image: Image<D>,
  height: number,
  width: number,
  channels: number,
): Image<D> {
  const data =
    image.dtype === 'uint8'
      ? new Uint8Array(height * width * channels)
      : new Float32Array(height * width * channels);
  return { dtype: image.dtype, shape: [height, width, channels], data } as unknown as Image<D>;
}

/** A copy of an image: same dtype and shape, data in a new buffer. */
export function copyImage<D extends ImageDType>(image: Image<D>): Image<D> {
  const [height, width, channels] = image.shape;
  const out = emptyLike(image, height, width, channels);
  out.data.set(image.data);
  return out;
}
