import { DecodeError } from '../core/errors.js';
import { allocate, type DType, isTensor, sameShape, sizeOfShape, type Tensor } from '../core/tensor.js';

/** An example: named fields, each a Tensor value, a number or a string. */
export type Example = Record<string, unknown>;

/** A batch: each field of the example stacked along a new leading dimension. */
export type Batch<E extends Example> = {
  [K in keyof E]: E[K] extends Tensor<infer D>
    ? Tensor<D>
    : E[K] extends number
      ? Tensor<'int32' | 'float32'>
      : E[K] extends string
        ? string[]
        : never;
};

function keyOf(example: Example, i: number): string {
  return typeof example.key === 'string' ? JSON.stringify(example.key) : `#${i}`;
}

/**
 * Stacks examples into a batch: tensors to `[B, ...shape]` (same dtype and shape required),
 * numbers to `[B]` (int32 when all are int32-range integers, else float32), strings to `string[]`.
 */
export function stack<E extends Example>(examples: readonly E[], stage = 'batch'): Batch<E> {
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
  for (const field of fields) out[field] = stackField(examples, field, stage);
  return out as Batch<E>;
}

function stackField(examples: readonly Example[], field: string, stage: string): unknown {
  const v0 = examples[0][field];
  const n = examples.length;
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
    const dtype: DType = integral ? 'int32' : 'float32';
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

function mismatch(
  stage: string,
  field: string,
  example: Example,
  i: number,
  expected: string,
  got: unknown,
): DecodeError {
  const received = isTensor(got) ? `a ${got.dtype} tensor of shape [${got.shape.join(', ')}]` : typeof got;
  return new DecodeError(
    `${stage}: Expected ${expected} for field ${field} of example ${keyOf(example, i)} but received ${received}`,
    {
      stage,
      parameter: field,
      key: typeof example.key === 'string' ? example.key : undefined,
    },
  );
}
