/**
 * Tensor values: the library's one data contract. Plain objects, row-major, images HWC, so the core
 * never depends on tfjs; adapters wrap `data` without copying.
 */

export type DType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'float32' | 'float64';

export interface DTypeArrays {
  uint8: Uint8Array;
  int8: Int8Array;
  uint16: Uint16Array;
  int16: Int16Array;
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
}

export type TypedArrayFor<D extends DType> = DTypeArrays[D];
export type AnyTypedArray = DTypeArrays[DType];

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayFor<D>;
}

export const DTYPE_CONSTRUCTORS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

export const DTYPES = Object.keys(DTYPE_CONSTRUCTORS) as DType[];

export function bytesPerElement(dtype: DType): number {
  return DTYPE_CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function allocate<D extends DType>(dtype: D, length: number): TypedArrayFor<D> {
  return new DTYPE_CONSTRUCTORS[dtype](length) as TypedArrayFor<D>;
}

export function tensor<D extends DType>(
  dtype: D,
  shape: readonly number[],
  data: TypedArrayFor<D>,
): Tensor<D> {
  return { dtype, shape, data };
}

/** True for objects shaped like a Tensor value (used by the batchers to decide how to stack a field). */
export function isTensor(value: unknown): value is Tensor {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Partial<Tensor>;
  return (
    typeof t.dtype === 'string' &&
    t.dtype in DTYPE_CONSTRUCTORS &&
    Array.isArray(t.shape) &&
    ArrayBuffer.isView(t.data)
  );
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
