import { DecodeError } from '../core/errors.js';
import { allocate, type DType, isTensor, sameShape, sizeOfShape, type Tensor } from '../core/tensor.js';

/** An example: an object of named fields, each a Tensor value, a number or a string. */
export type Example = object;

/** The dtype of a batched number field. */
export type NumberDType = 'int32' | 'float32';

/** A batch: each field of the example stacked along a new leading dimension. */
export type Batch<E extends Example> = {
  [K in keyof E]-?: NonNullable<E[K]> extends Tensor<infer D>
    ? Tensor<D>
    : NonNullable<E[K]> extends Uint8Array
      ? Tensor<'uint8'>
      : NonNullable<E[K]> extends Float32Array
        ? Tensor<'float32'>
        : NonNullable<E[K]> extends Int32Array
          ? Tensor<'int32'>
          : NonNullable<E[K]> extends number
            ? Tensor<NumberDType>
            : NonNullable<E[K]> extends string
              ? string[]
              : never;
};

type Fields = Record<string, unknown>;

function keyOf(example: Fields, i: number): string {
  return typeof example.key === 'string' ? JSON.stringify(example.key) : `#${i}`;
}

/**
 * Stacks examples into a batch: tensors to `[B, ...shape]` (same dtype and shape required), typed
 * arrays to `[B, length]` tensors, numbers to `[B]`, strings to `string[]`. A number field's dtype comes from `numberDTypes` when it
 * has an entry; otherwise it is int32 when every value is an int32-range integer, else float32, and
 * the choice is recorded in `numberDTypes` so that later batches of a stream keep the same dtype.
 */
export function stack<E extends Example>(
  input: readonly E[],
  stage = 'batch',
  numberDTypes: Map<string, NumberDType> = new Map(),
): Batch<E> {
  const examples = input as readonly Fields[];
  const out: Record<string, unknown> = {};
  if (examples.length === 0) return out as Batch<E>;
  const first = examples[0];
  const fields = Object.keys(first);
  for (let i = 1; i < examples.length; i++) {
    const keys = Object.keys(examples[i]);
    if (keys.length !== fields.length || fields.some((f) => !(f in examples[i]))) {
      throw new DecodeError(
        `${stage}: Expected fields [${fields.join(', ')}] for example ${keyOf(examples[i], i)} but received [${keys.join(', ')}]`,
        {
          stage,
          parameter: 'examples',
          key: typeof examples[i].key === 'string' ? (examples[i].key as string) : undefined,
        },
      );
    }
  }
  for (const field of fields) out[field] = stackField(examples, field, stage, numberDTypes);
  return out as Batch<E>;
}

function stackField(
  examples: readonly Fields[],
  field: string,
  stage: string,
  numberDTypes: Map<string, NumberDType>,
): unknown {
  const v0 = examples[0][field];
  const n = examples.length;
  const arrayType = typedArrayDType(v0);
  if (arrayType) {
    // A bare typed array (a raw record, say) stacks like a 1-D tensor of its length.
    const len = (v0 as Uint8Array).length;
    const data = allocate(arrayType, n * len);
    for (let i = 0; i < n; i++) {
      const v = examples[i][field];
      if (typedArrayDType(v) !== arrayType || (v as Uint8Array).length !== len) {
        throw mismatch(stage, field, examples[i], i, `a ${arrayType} array of length ${len}`, v);
      }
      (data as Uint8Array).set(v as Uint8Array, i * len);
    }
    return { dtype: arrayType, shape: [n, len], data };
  }
  if (isTensor(v0)) {
    const per = sizeOfShape(v0.shape);
    const data = allocate(v0.dtype, n * per);
    for (let i = 0; i < n; i++) {
      const v = examples[i][field];
      if (!isTensor(v) || v.dtype !== v0.dtype || !sameShape(v.shape, v0.shape) || v.data.length !== per) {
        throw mismatch(
          stage,
          field,
          examples[i],
          i,
          `a ${v0.dtype} tensor of shape [${v0.shape.join(', ')}]`,
          v,
        );
      }
      (data as Tensor['data']).set(v.data as never, i * per);
    }
    return { dtype: v0.dtype, shape: [n, ...v0.shape], data } satisfies Tensor;
  }
  if (typeof v0 === 'number') {
    let integral = true;
    for (let i = 0; i < n; i++) {
      const v = examples[i][field];
      if (typeof v !== 'number') throw mismatch(stage, field, examples[i], i, 'a number', v);
      if (integral && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) integral = false;
    }
    const dtype: DType = numberDTypes.get(field) ?? (integral ? 'int32' : 'float32');
    if (dtype === 'int32' && !integral) {
      const i = examples.findIndex((e) => {
        const v = e[field] as number;
        return !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647);
      });
      throw new DecodeError(
        `${stage}: Expected an int32 integer for field ${field} of example ${keyOf(examples[i], i)} (the field's dtype, ` +
          `from its first batch or the dtypes option) but received ${examples[i][field]}; pass dtypes: { ${field}: 'float32' }`,
        {
          stage,
          parameter: field,
          key: typeof examples[i].key === 'string' ? (examples[i].key as string) : undefined,
        },
      );
    }
    numberDTypes.set(field, dtype as NumberDType);
    const data = allocate(dtype, n);
    for (let i = 0; i < n; i++) data[i] = examples[i][field] as number;
    return { dtype, shape: [n], data };
  }
  if (typeof v0 === 'string') {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const v = examples[i][field];
      if (typeof v !== 'string') throw mismatch(stage, field, examples[i], i, 'a string', v);
      out[i] = v;
    }
    return out;
  }
  throw mismatch(stage, field, examples[0], 0, 'a tensor value, a number or a string', v0);
}

const ARRAY_DTYPES = new Map<unknown, DType>([
  [Uint8Array, 'uint8'],
  [Int8Array, 'int8'],
  [Uint16Array, 'uint16'],
  [Int16Array, 'int16'],
  [Int32Array, 'int32'],
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
]);

function typedArrayDType(value: unknown): DType | undefined {
  return ArrayBuffer.isView(value) ? ARRAY_DTYPES.get(value.constructor) : undefined;
}

function mismatch(
  stage: string,
  field: string,
  example: Fields,
  i: number,
  expected: string,
  got: unknown,
): DecodeError {
  const received = isTensor(got)
    ? `a ${got.dtype} tensor of shape [${got.shape.join(', ')}]`
    : ArrayBuffer.isView(got)
      ? `${got.constructor.name}(${(got as Uint8Array).length})`
      : typeof got;
  return new DecodeError(
    `${stage}: Expected ${expected} for field ${field} of example ${keyOf(example, i)} but received ${received}`,
    {
      stage,
      parameter: field,
      key: typeof example.key === 'string' ? example.key : undefined,
    },
  );
}
