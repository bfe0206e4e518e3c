import { invalidArgument } from '../core/errors.js';
import { integerOption } from '../core/validate.js';
import type { Image } from './image.js';

/**
 * The `fillValue` option of the geometric ops that leave pixels without a source (translate, rotate,
 * zoom): default 0; a uint8 image needs an integer in [0, 255] (TF would cast instead), a float32 one
 * any number.
 */
export function fillValueOption(stage: string, image: Image, value: unknown): number {
  const fillValue = value ?? 0;
  if (image.dtype === 'uint8') return integerOption(stage, 'fillValue', fillValue, { min: 0, max: 255 });
  if (typeof fillValue !== 'number') throw invalidArgument('fillValue', 'a number', fillValue, stage);
  return fillValue;
}
