import { DecodeError, invalidArgument } from '../core/errors.js';
import { type Image, imageDims } from './image.js';

/**
 * The input side shared by the fused CIFAR transforms (distortCifar, cifarEvalTransform): a raw
 * record (label byte(s), then R, G, B planes of 32x32) or a uint8 HWC RGB image, described by
 * strides so that one loop reads either without a decode pass.
 */
export interface CifarSource {
  src: Uint8Array;
  base: number;
  rowStride: number;
  colStride: number;
  chStride: number;
  height: number;
  width: number;
  /** Present for records only. */
  labels?: { label: number; coarseLabel?: number };
}

/** Validates the options the CIFAR transforms share. */
export function cifarOptions(
  stage: string,
  o: { size?: number; labelBytes?: number },
): { size: number; labelBytes: 1 | 2 } {
  const size = o.size ?? 24;
  if (!Number.isInteger(size) || size < 1) throw invalidArgument('size', 'a positive integer', size, stage);
  const labelBytes = o.labelBytes ?? 1;
  if (labelBytes !== 1 && labelBytes !== 2) throw invalidArgument('labelBytes', '1 or 2', labelBytes, stage);
  return { size, labelBytes };
}

export function cifarSource(
  stage: string,
  input: Image<'uint8'> | Uint8Array,
  labelBytes: 1 | 2,
  size: number,
): CifarSource {
  if (input instanceof Uint8Array) {
    const expected = labelBytes + 3072;
    if (input.length !== expected) {
      throw new DecodeError(
        `${stage}: Expected a record of ${expected} bytes for record but received ${input.length} bytes`,
        {
          parameter: 'record',
          stage,
        },
      );
    }
    const labels = labelBytes === 1 ? { label: input[0] } : { label: input[1], coarseLabel: input[0] };
    checkSize(stage, 32, 32, size);
    return {
      src: input,
      base: labelBytes,
      rowStride: 32,
      colStride: 1,
      chStride: 1024,
      height: 32,
      width: 32,
      labels,
    };
  }
  const { height, width, channels } = imageDims(stage, input);
  if (input.dtype !== 'uint8' || channels !== 3) {
    throw invalidArgument(
      'image',
      'a uint8 RGB image',
      `a ${input.dtype} image with ${channels} channels`,
      stage,
    );
  }
  checkSize(stage, height, width, size);
  return { src: input.data, base: 0, rowStride: width * 3, colStride: 3, chStride: 1, height, width };
}

function checkSize(stage: string, height: number, width: number, size: number): void {
  if (height < size || width < size) {
    throw invalidArgument('image', `an image of at least ${size}x${size}`, `${height}x${width}`, stage);
  }
}

/** What a transform returns: the image alone for an image input, with the labels for a record. */
export function withLabels(source: CifarSource, image: Image<'float32'>) {
  return source.labels ? { ...source.labels, image } : image;
}
