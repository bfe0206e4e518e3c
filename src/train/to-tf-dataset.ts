/**
 * Batches as TensorFlow.js tensors: the field checks every tfjs adapter shares (tfjsTrainer, evaluate,
 * transferHead) and `toTfDataset`, a `tf.data.Dataset` for `model.fitDataset`.
 *
 * Wrapping a field is `tf.tensor(field.data, field.shape, field.dtype)` over the batch's own typed
 * array. What that costs depends on the backend (measured on tfjs 4.22, see
 * test/train/to-tf-dataset.test.ts): the cpu backend keeps the very array (no copy: the tensor reads
 * the batch's memory, so a batch must not be changed while its tensors live); the wasm backend copies
 * it once into WebAssembly memory when the tensor is made; tfjs-node copies it into a native tensor
 * when an op first uses it (from its source; not installable here). No adapter copies in JavaScript.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { DecodeError, describeValue, InputError, invalidArgument } from '../core/errors.js';
import type { Source } from '../core/stream.js';
import { isTensor, sizeOfShape, type Tensor } from '../core/tensor.js';
import { currentTf } from './load-tf.js';

/** The dtypes tfjs tensors can wrap without converting. */
export type TfDType = 'float32' | 'int32';

/** A batch field as tfjs needs it: dtype and shape, `null` for a free dimension (the batch size). */
export interface FieldSpec {
  dtype: TfDType;
  shape: readonly (number | null)[];
  /** Where the expectation comes from, for messages (e.g. "the model's input shape"). */
  origin?: string;
}

/** The tensor value in `batch[field]`, or an error naming the field and the option that chose it. */
export function batchField(batch: unknown, field: string, option: string, stage: string): Tensor {
  if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
    throw new DecodeError(
      `${stage}: Expected a batch object of named fields but received ${describeField(batch)}`,
      {
        stage,
        parameter: 'batch',
      },
    );
  }
  const value = (batch as Record<string, unknown>)[field];
  if (value === undefined) {
    throw new DecodeError(
      `${stage}: Expected a field ${field} in the batch (option ${option}) but the batch has fields [${Object.keys(batch).join(', ')}]`,
      { stage, parameter: option },
    );
  }
  if (!isTensor(value) || value.data.length !== sizeOfShape(value.shape)) {
    throw new DecodeError(
      `${stage}: Expected a tensor value { dtype, shape, data } for field ${field} but received ${describeField(value)}`,
      { stage, parameter: field },
    );
  }
  return value;
}

/** Checks a field against what the model takes: dtype, rank and every fixed dimension. */
export function checkFieldSpec(value: Tensor, field: string, spec: FieldSpec, stage: string): void {
  const shapeOk =
    value.shape.length === spec.shape.length &&
    spec.shape.every((d, i) => d === null || d === value.shape[i]);
  if (value.dtype !== spec.dtype || !shapeOk) {
    const wanted = `[${spec.shape.map((d, i) => (d === null ? (i === 0 ? 'B' : '?') : d)).join(', ')}]`;
    const origin = spec.origin ? ` (${spec.origin} [${spec.shape.map((d) => d ?? 'null').join(', ')}])` : '';
    const hint =
      value.dtype !== spec.dtype && (value.dtype === 'uint8' || value.dtype === 'float64')
        ? `; tfjs cannot wrap ${value.dtype} data without a copy: convert the field to ${spec.dtype} in the pipeline`
        : '';
    throw new DecodeError(
      `${stage}: Expected a ${spec.dtype} tensor of shape ${wanted}${origin} for field ${field} but received ${describeField(value)}${hint}`,
      { stage, parameter: field },
    );
  }
}

/**
 * Checks sparse class labels: an int32 `[rows]` tensor whose values lie in `[0, numClasses)`.
 * Returns the label array.
 */
export function checkClassLabels(
  batch: object,
  value: Tensor,
  field: string,
  rows: number,
  numClasses: number,
  stage: string,
): Int32Array {
  if (value.dtype !== 'int32' || value.shape.length !== 1 || value.shape[0] !== rows) {
    throw new DecodeError(
      `${stage}: Expected an int32 tensor of shape [${rows}] (one class index per example) for field ${field} but received ${describeField(value)}`,
      { stage, parameter: field },
    );
  }
  const labels = value.data as Int32Array;
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c < 0 || c >= numClasses) {
      const keys = (batch as { key?: unknown }).key;
      const key =
        Array.isArray(keys) && typeof keys[i] === 'string' ? ` (key ${JSON.stringify(keys[i])})` : '';
      throw new DecodeError(
        `${stage}: Expected class indices in [0, ${numClasses}) for field ${field} but received ${c} at row ${i}${key}`,
        { stage, parameter: field, key: key ? (keys as string[])[i] : undefined },
      );
    }
  }
  return labels;
}

/** A tf tensor over the field's own buffer (see the module comment for what each backend copies). */
export function wrapField(value: Tensor): tfjs.Tensor {
  return currentTf().tensor(
    value.data as Float32Array | Int32Array,
    value.shape.slice(),
    value.dtype as TfDType,
  );
}

export function describeField(value: unknown): string {
  if (isTensor(value))
    return `${value.dtype.startsWith('int') ? 'an' : 'a'} ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  if (Array.isArray(value)) return `an array of ${value.length} ${typeof value[0]}s`;
  return describeValue(value);
}

// --- toTfDataset -----------------------------------------------------------------------------------

export interface ToTfDatasetOptions {
  /** The batch field fed to the model (default 'image'). */
  inputs?: string;
  /** The batch field of int32 class labels (default 'label'). */
  labels?: string;
  /**
   * With it, `ys` is one-hot float32 `[B, numClasses]` (for `categoricalCrossentropy`) and labels are
   * range-checked. Without it, `ys` is the labels field as float32: int32 class indices are cast (B
   * numbers), because tfjs's `sparseCategoricalCrossentropy` floors its targets and `floor` rejects
   * int32 tensors (tfjs 4.22); float32 targets pass through.
   */
  numClasses?: number;
}

/** What toTfDataset accepts: batches, or a function that makes a fresh batch stream per epoch. */
export type BatchSource = Source<object> | (() => Source<object>);

export interface TfXsYs extends tfjs.TensorContainerObject {
  xs: tfjs.Tensor;
  ys: tfjs.Tensor;
}

const STAGE = 'toTfDataset';

/**
 * A `tf.data.Dataset` of `{ xs, ys }` over a batch stream, for `model.fitDataset`.
 *
 * fitDataset asks the dataset for a new iterator every epoch (unless `batchesPerEpoch` is set, then
 * it keeps one iterator for the whole run). Each new iterator iterates `batches` again: a Stream or an
 * array starts over (a Stream re-runs its pipeline, files and seeds included), and a factory
 * `() => stream` is called again. A source that can be iterated only once (a generator, an iterator)
 * serves one epoch, or every epoch with `batchesPerEpoch`; iterating it a second time fails with an
 * error instead of silently training on an empty epoch. fitDataset disposes each `{ xs, ys }` after
 * its step; nothing else is allocated per batch.
 */
export function toTfDataset(
  batches: BatchSource,
  options: ToTfDatasetOptions = {},
): tfjs.data.Dataset<TfXsYs> {
  const o = options as Record<string, unknown>;
  if (typeof o !== 'object' || o === null)
    throw invalidArgument('options', 'an options object', options, STAGE);
  const inputs = fieldOption(o.inputs, 'inputs', 'image', STAGE);
  const labels = fieldOption(o.labels, 'labels', 'label', STAGE);
  const numClasses = o.numClasses;
  if (numClasses !== undefined && (!Number.isInteger(numClasses) || (numClasses as number) < 1)) {
    throw invalidArgument('numClasses', 'a positive integer', numClasses, STAGE);
  }
  const factory = typeof batches === 'function' ? batches : undefined;
  if (!factory && !isSource(batches)) {
    throw invalidArgument(
      'batches',
      'a Stream, an (async) iterable of batches or a function returning one',
      batches,
      STAGE,
    );
  }
  const tf = currentTf();
  let onceStarted = false;

  async function* run(): AsyncGenerator<TfXsYs> {
    const source = factory ? factory() : (batches as Source<object>);
    if (!isSource(source)) {
      throw invalidArgument('batches()', 'a Stream or an (async) iterable of batches', source, STAGE);
    }
    if (isIterator(source)) {
      if (onceStarted) {
        throw new InputError(
          `${STAGE}: the batch source is an iterator, which can be iterated only once, and fitDataset started a second epoch; ` +
            "pass a Stream, an array or a function returning a fresh stream, or set fitDataset's batchesPerEpoch",
          { stage: STAGE, parameter: 'batches' },
        );
      }
      onceStarted = true;
    }
    for await (const batch of source as AsyncIterable<object>) {
      const x = batchField(batch, inputs, 'inputs', STAGE);
      if (x.dtype !== 'float32' && x.dtype !== 'int32') {
        checkFieldSpec(x, inputs, { dtype: 'float32', shape: x.shape.map(() => null) }, STAGE);
      }
      const y = batchField(batch, labels, 'labels', STAGE);
      const rows = x.shape[0];
      if (numClasses !== undefined) {
        checkClassLabels(batch, y, labels, rows, numClasses as number, STAGE);
      } else if ((y.dtype !== 'float32' && y.dtype !== 'int32') || y.shape[0] !== rows) {
        throw new DecodeError(
          `${STAGE}: Expected a float32 or int32 tensor with ${rows} rows (one per example of field ${inputs}) for field ${labels} but received ${describeField(y)}`,
          { stage: STAGE, parameter: labels },
        );
      }
      const xs = wrapField(x);
      const ys = tf.tidy(() =>
        numClasses === undefined
          ? wrapField(y).toFloat()
          : tf.oneHot(wrapField(y) as tfjs.Tensor1D, numClasses as number).toFloat(),
      );
      yield { xs, ys };
    }
  }
  return tf.data.generator(run as () => AsyncIterator<TfXsYs>);
}

export function fieldOption(value: unknown, name: string, defaultValue: string, stage: string): string {
  if (value === undefined) return defaultValue;
  if (typeof value !== 'string' || value === '')
    throw invalidArgument(name, 'a batch field name', value, stage);
  return value;
}

function isSource(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (Symbol.asyncIterator in value || Symbol.iterator in value)
  );
}

/** Generators and other iterators are their own iterables: a second pass finds them exhausted. */
function isIterator(value: unknown): boolean {
  return typeof (value as { next?: unknown }).next === 'function';
}
