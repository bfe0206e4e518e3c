import { isTensor } from '../core/tensor.js';

/**
 * Prepares a value for postMessage without per-element serialization of bulk data: typed arrays
 * (top-level fields, Tensor `data`, or the value itself) are moved as transferables. A view that does
 * not cover its whole buffer (a record read as a view into a 1 MiB chunk) is copied first, since
 * structured clone would otherwise copy (or transfer would detach) the entire chunk. With `copy`,
 * every array is copied (the sender keeps its original, e.g. to retry).
 */
export function forTransfer<T>(
  value: T,
  { copy = false }: { copy?: boolean } = {},
): { value: T; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const seen = new Set<ArrayBuffer>();
  const own = (view: ArrayBufferView): ArrayBufferView => {
    let v = view;
    const whole = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength;
    if (copy || !whole || seen.has(v.buffer as ArrayBuffer) || !(v.buffer instanceof ArrayBuffer)) {
      v = (v as Uint8Array).slice();
    }
    seen.add(v.buffer as ArrayBuffer);
    transfer.push(v.buffer as ArrayBuffer);
    return v;
  };
  const visit = (x: unknown): unknown => {
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return own(x);
    if (isTensor(x)) return { ...x, data: own(x.data) };
    return x;
  };
  if (ArrayBuffer.isView(value) || isTensor(value)) return { value: visit(value) as T, transfer };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = visit(v);
    return { value: out as T, transfer };
  }
  return { value, transfer };
}
