import { invalidArgument } from '../core/errors.js';
import { isTensor, type Tensor } from '../core/tensor.js';

/**
 * Unbatching for the inspection tools: an example (`image` [H, W, C]) or a batch (`image`
 * [B, H, W, C], `label` [B] or [B, ...], `key` string[]) becomes a list of samples.
 */

export interface Sample {
  image: Tensor;
  /** The example's label: a number (a one-element label as is, a longer one by its argmax) or a string. */
  label?: number | string;
  key?: string;
}

/** The samples of one example or batch; `field` names the image field. */
export function unbatch(element: unknown, field: string, stage: string, parameter = 'source'): Sample[] {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    throw invalidArgument(parameter, 'examples or batches (objects with an image field)', element, stage);
  }
  const fields = element as Record<string, unknown>;
  const image = fields[field];
  const expected = `an image tensor [height, width, channels] or a batch [batch, height, width, channels] in field '${field}'`;
  if (!isTensor(image)) throw invalidArgument(field, expected, image, stage);
  if (image.shape.length === 3) {
    return [{ image, label: singleLabel(fields.label), key: stringOf(fields.key) }];
  }
  if (image.shape.length !== 4 || !image.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalidArgument(
      field,
      expected,
      `a ${image.dtype} tensor of shape [${image.shape.join(', ')}]`,
      stage,
    );
  }
  const [b, h, w, c] = image.shape;
  const per = h * w * c;
  if (image.data.length !== b * per) {
    throw invalidArgument(
      field,
      expected,
      `a tensor of shape [${image.shape.join(', ')}] with ${image.data.length} values`,
      stage,
    );
  }
  const out: Sample[] = [];
  for (let i = 0; i < b; i++) {
    const data = image.data.subarray(i * per, (i + 1) * per);
    out.push({
      image: { dtype: image.dtype, shape: [h, w, c], data } as Tensor,
      label: batchLabel(fields.label, i, b),
      key: Array.isArray(fields.key) ? stringOf(fields.key[i]) : undefined,
    });
  }
  return out;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function singleLabel(value: unknown): number | string | undefined {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (isTensor(value) && value.data.length > 0) return argmax(value.data, 0, value.data.length);
  return undefined;
}

function batchLabel(value: unknown, i: number, b: number): number | string | undefined {
  if (Array.isArray(value)) return singleLabel(value[i]);
  if (isTensor(value) && value.shape[0] === b && b > 0 && value.data.length % b === 0) {
    const per = value.data.length / b;
    return per === 0 ? undefined : argmax(value.data, i * per, per);
  }
  return undefined;
}

/** One value as is; several (one-hot, probabilities) by the index of the largest. */
function argmax(data: ArrayLike<number>, start: number, length: number): number {
  if (length === 1) return data[start];
  let best = 0;
  for (let j = 1; j < length; j++) if (data[start + j] > data[start + best]) best = j;
  return best;
}

/** `classNames[label]` for an integer label in range, else undefined. */
export function classNameOf(
  label: Sample['label'],
  classNames: readonly string[] | undefined,
): string | undefined {
  if (classNames === undefined || typeof label !== 'number' || !Number.isInteger(label)) return undefined;
  return label >= 0 && label < classNames.length ? classNames[label] : undefined;
}

/** Validates the optional `classNames` option. */
export function classNamesOption(stage: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidArgument('classNames', 'an array of strings', value, stage);
  }
  return value;
}

/** Validates a non-empty string option. */
export function stringOption(stage: string, name: string, value: unknown, defaultValue?: string): string {
  if (value === undefined && defaultValue !== undefined) return defaultValue;
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidArgument(name, 'a non-empty string', value, stage);
  }
  return value;
}
