import { isTensor } from '../core/tensor.js';

/**
 * Moving chunks of elements between threads without per-element serialization of bulk data: every
 * typed array of a chunk's elements (a top-level field, a Tensor's `data`, or the element itself) is
 * copied into one ArrayBuffer that is transferred; the elements travel as small descriptors. One
 * transfer per chunk instead of one per array keeps postMessage cheap, and only the bytes of each
 * view are copied (a record that is a view into a 1 MiB read chunk costs its own size, not 1 MiB).
 */

const ARRAY_TYPES = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  Uint8ClampedArray,
} as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;
type AnyArray = InstanceType<(typeof ARRAY_TYPES)[ArrayTypeName]>;

/** Where a typed array lives: which of the chunk's buffers, at what offset. */
interface ViewRef {
  __inqueueView: [type: ArrayTypeName, buffer: number, byteOffset: number, length: number];
}

export interface PackedChunk {
  values: unknown[];
  /** buffers[0] holds the copied arrays; any others are arrays moved whole (see packChunk). */
  buffers: ArrayBuffer[];
}

function typeName(view: ArrayBufferView): ArrayTypeName | null {
  const name = view.constructor.name as ArrayTypeName;
  return name in ARRAY_TYPES ? name : null;
}

/** Applies `f` to each typed array the element carries (shallowly), rebuilding the element. */
function mapArrays(value: unknown, f: (a: AnyArray) => unknown): unknown {
  const visit = (x: unknown): unknown => {
    if (ArrayBuffer.isView(x) && typeName(x)) return f(x as AnyArray);
    if (isTensor(x)) return { ...x, data: f(x.data as AnyArray) };
    return x;
  };
  if ((ArrayBuffer.isView(value) && typeName(value)) || isTensor(value)) return visit(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = visit(v);
    return out;
  }
  return value;
}

/**
 * Packs the arrays of `values` into one new buffer (the originals are left untouched). With
 * `moveOwned`, an array that owns its whole buffer is moved instead of copied: the sender gives it
 * up (a worker's results, which it never reads again).
 */
export function packChunk(
  values: readonly unknown[],
  { moveOwned = false }: { moveOwned?: boolean } = {},
): PackedChunk {
  const owns = (a: AnyArray) =>
    moveOwned &&
    a.byteOffset === 0 &&
    a.byteLength === a.buffer.byteLength &&
    a.buffer instanceof ArrayBuffer;
  let total = 0;
  for (const v of values)
    mapArrays(v, (a) => {
      if (!owns(a)) total = align(total) + a.byteLength;
      return a;
    });
  const buffers: ArrayBuffer[] = [new ArrayBuffer(align(total))];
  const bytes = new Uint8Array(buffers[0]);
  let offset = 0;
  const packed = values.map((v) =>
    mapArrays(v, (a) => {
      if (owns(a)) {
        // The same array twice in a result moves once and is referenced twice.
        let b = buffers.indexOf(a.buffer as ArrayBuffer);
        if (b < 0) b = buffers.push(a.buffer as ArrayBuffer) - 1;
        return { __inqueueView: [typeName(a)!, b, 0, a.length] } satisfies ViewRef;
      }
      offset = align(offset);
      bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
      const ref: ViewRef = { __inqueueView: [typeName(a)!, 0, offset, a.length] };
      offset += a.byteLength;
      return ref;
    }),
  );
  return { values: packed, buffers };
}

/**
 * Rebuilds the elements of a packed chunk. With `copy`, each array gets its own buffer, so that a
 * consumer keeping a few elements for long (a shuffle pool) does not keep whole chunks alive.
 */
export function unpackChunk(chunk: PackedChunk, { copy = false }: { copy?: boolean } = {}): unknown[] {
  const revive = (x: unknown): unknown => {
    const ref = (x as ViewRef | null)?.__inqueueView;
    if (!ref) return x;
    const [type, buffer, byteOffset, length] = ref;
    const view = new ARRAY_TYPES[type](chunk.buffers[buffer], byteOffset, length);
    // A moved array owns its buffer already; copying only matters for the shared one.
    return copy && buffer === 0 ? view.slice() : view;
  };
  return chunk.values.map((v) => {
    if ((v as ViewRef | null)?.__inqueueView) return revive(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, field] of Object.entries(o)) {
        const inner = field as { data?: unknown } | null;
        out[k] =
          inner !== null && typeof inner === 'object' && (inner.data as ViewRef | undefined)?.__inqueueView
            ? { ...inner, data: revive(inner.data) }
            : revive(field);
      }
      if ((o.data as ViewRef | undefined)?.__inqueueView) out.data = revive(o.data);
      return out;
    }
    return v;
  });
}

function align(n: number): number {
  return (n + 7) & ~7;
}
