import { WASM_BASE64 } from './distort-cifar.wasm.js';

/**
 * The WebAssembly (SIMD128) kernel of distortCifar for raw records: ~5x faster than the
 * JavaScript loop (src/wasm/distort-cifar.c; same double-precision closed form, identical output).
 * One instance per thread, created on first use; its memory holds one call's records, parameters
 * and outputs, growing when a call needs more.
 */

/** The slice of the WebAssembly API used here (the project's TypeScript libs omit the DOM's types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface Exports {
  memory: WasmMemory;
  heap_base(): number;
  distort_records(
    records: number,
    count: number,
    stride: number,
    planesOffset: number,
    size: number,
    oy: number,
    ox: number,
    flip: number,
    delta: number,
    factor: number,
    out: number,
  ): void;
}

let kernel: Exports | null | undefined;

function instance(): Exports | null {
  if (kernel !== undefined) return kernel;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const module = new wasm.Module(Buffer.from(WASM_BASE64, 'base64'));
    kernel = new wasm.Instance(module, {}).exports as Exports;
  } catch {
    kernel = null; // no WebAssembly SIMD here: callers fall back to JavaScript
  }
  return kernel;
}

export interface RecordDraws {
  oy: number;
  ox: number;
  flip: boolean;
  delta: number;
  factor: number;
}

const align = (n: number) => (n + 15) & ~15;

/** Views of the regions of one call, rebuilt only when the memory grows (creating views costs). */
interface Regions {
  buffer: ArrayBuffer;
  recordBytes: number;
  per: number;
  recordsAt: number;
  paramsAt: number;
  outAt: number;
  record: Uint8Array;
  ints: Int32Array;
  flip: Uint8Array;
  doubles: Float64Array;
  out: Float32Array;
}
let regions: Regions | null = null;

function regionsFor(k: Exports, recordBytes: number, per: number): Regions {
  const r = regions;
  if (r && r.buffer === k.memory.buffer && r.recordBytes === recordBytes && r.per === per) return r;
  const recordsAt = align(k.heap_base());
  const paramsAt = align(recordsAt + recordBytes);
  const outAt = align(paramsAt + 64);
  const end = outAt + per * 4;
  if (end > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / 65536));
  const buffer = k.memory.buffer;
  regions = {
    buffer,
    recordBytes,
    per,
    recordsAt,
    paramsAt,
    outAt,
    record: new Uint8Array(buffer, recordsAt, recordBytes),
    ints: new Int32Array(buffer, paramsAt, 2),
    flip: new Uint8Array(buffer, paramsAt + 8, 1),
    doubles: new Float64Array(buffer, paramsAt + 16, 2),
    out: new Float32Array(buffer, outAt, per),
  };
  return regions;
}

/**
 * Distorts one raw record (planes start at `planesOffset`) into a new float32 [size, size, 3]
 * array; null when WebAssembly is unavailable.
 */
export function distortRecordWasm(
  record: Uint8Array,
  planesOffset: number,
  size: number,
  d: RecordDraws,
): Float32Array | null {
  const k = instance();
  if (!k) return null;
  const r = regionsFor(k, record.length, size * size * 3);
  r.record.set(record);
  r.ints[0] = d.oy;
  r.ints[1] = d.ox;
  r.flip[0] = d.flip ? 1 : 0;
  r.doubles[0] = d.delta;
  r.doubles[1] = d.factor;
  const p = r.paramsAt;
  k.distort_records(
    r.recordsAt,
    1,
    record.length,
    planesOffset,
    size,
    p,
    p + 4,
    p + 8,
    p + 16,
    p + 24,
    r.outAt,
  );
  return r.out.slice();
}

/** Per-record draws of a block, as parallel arrays. */
export interface BlockDraws {
  oy: Int32Array;
  ox: Int32Array;
  flip: Uint8Array;
  delta: Float64Array;
  factor: Float64Array;
}

/**
 * Distorts `count` records laid out `stride` bytes apart in `block` in one call, returning one new
 * float32 array of count · size · size · 3 values (a batch tensor's data); null without WebAssembly.
 */
export function distortRecordsWasm(
  block: Uint8Array,
  count: number,
  stride: number,
  planesOffset: number,
  size: number,
  d: BlockDraws,
): Float32Array | null {
  const k = instance();
  if (!k) return null;
  const per = size * size * 3;
  const recordsAt = align(k.heap_base());
  const oyAt = align(recordsAt + count * stride);
  const oxAt = align(oyAt + count * 4);
  const flipAt = align(oxAt + count * 4);
  const deltaAt = align(flipAt + count);
  const factorAt = align(deltaAt + count * 8);
  const outAt = align(factorAt + count * 8);
  const end = outAt + count * per * 4;
  if (end > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / 65536));
  const heap = k.memory.buffer;
  new Uint8Array(heap, recordsAt, count * stride).set(block.subarray(0, count * stride));
  new Int32Array(heap, oyAt, count).set(d.oy);
  new Int32Array(heap, oxAt, count).set(d.ox);
  new Uint8Array(heap, flipAt, count).set(d.flip);
  new Float64Array(heap, deltaAt, count).set(d.delta);
  new Float64Array(heap, factorAt, count).set(d.factor);
  k.distort_records(
    recordsAt,
    count,
    stride,
    planesOffset,
    size,
    oyAt,
    oxAt,
    flipAt,
    deltaAt,
    factorAt,
    outAt,
  );
  return new Float32Array(heap, outAt, count * per).slice();
}
