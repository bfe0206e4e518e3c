import { WASM_BASE64, WASM_SHARED_BASE64 } from './distort-cifar.wasm.js';

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
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/** The per-record argument arrays and the output of a kernel call: addresses in the memory. */
type DrawArgs = [oy: number, ox: number, flip: number, delta: number, factor: number, out: number];

interface Exports {
  memory: WasmMemory;
  heap_base(): number;
  /** `count` records `stride` bytes apart from `records`. */
  distort_records(
    records: number,
    count: number,
    stride: number,
    planesOffset: number,
    size: number,
    ...rest: DrawArgs
  ): void;
  /** `count` records at `records + offsets[i]`. */
  distort_gather(
    records: number,
    offsets: number,
    count: number,
    planesOffset: number,
    size: number,
    ...rest: DrawArgs
  ): void;
}

let compiled: object | null | undefined;

/** A new instance of the kernel, with its own memory; null without WebAssembly SIMD. */
function newInstance(): Exports | null {
  if (compiled === null) return null; // compiling failed once: it would again
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    compiled ??= new wasm.Module(Buffer.from(WASM_BASE64, 'base64'));
    return new wasm.Instance(compiled, {}).exports as Exports;
  } catch {
    compiled = null;
    return null; // no WebAssembly SIMD here: callers fall back to JavaScript
  }
}

let kernel: Exports | null | undefined;

function instance(): Exports | null {
  if (kernel === undefined) kernel = newInstance();
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

/** Records per kernel call of RecordSlab.distort: 16 · 6.9 KB of output stays in L1/L2. */
const CHUNK = 16;

/** Where one call's arguments and output lie from `start`: addresses, the five draw arrays, the output. */
interface ArgumentLayout {
  addresses: number;
  oy: number;
  ox: number;
  flip: number;
  delta: number;
  factor: number;
  out: number;
  /** The byte after the output. */
  end: number;
}

function argumentLayout(start: number, maxBatch: number, outFloats: number): ArgumentLayout {
  const addresses = align(start);
  const oy = align(addresses + maxBatch * 4);
  const ox = align(oy + maxBatch * 4);
  const flip = align(ox + maxBatch * 4);
  const delta = align(flip + maxBatch);
  const factor = align(delta + maxBatch * 8);
  const out = align(factor + maxBatch * 8);
  return { addresses, oy, ox, flip, delta, factor, out, end: out + outFloats * 4 };
}

/** One kernel call on the records `first .. first + n` of a layout's arguments (output at `at.out`). */
function gatherChunk(
  k: Exports,
  records: number,
  at: ArgumentLayout,
  first: number,
  n: number,
  planesOffset: number,
  size: number,
): void {
  k.distort_gather(
    records,
    at.addresses + 4 * first,
    n,
    planesOffset,
    size,
    at.oy + 4 * first,
    at.ox + 4 * first,
    at.flip + first,
    at.delta + 8 * first,
    at.factor + 8 * first,
    at.out,
  );
}

/** Views of a layout's draw arrays. */
function drawViews(heap: ArrayBufferLike, at: ArgumentLayout, maxBatch: number): BlockDraws {
  return {
    oy: new Int32Array(heap, at.oy, maxBatch),
    ox: new Int32Array(heap, at.ox, maxBatch),
    flip: new Uint8Array(heap, at.flip, maxBatch),
    delta: new Float64Array(heap, at.delta, maxBatch),
    factor: new Float64Array(heap, at.factor, maxBatch),
  };
}

/** What a record slab holds, fixed at creation. */
export interface RecordSlabLayout {
  /** Record slots. */
  slots: number;
  recordBytes: number;
  /** Bytes before the planes in a record (label bytes). */
  planesOffset: number;
  /** The most records one `distort` call takes. */
  maxBatch: number;
  /** Crop side. */
  size: number;
}

/**
 * Record slots inside a kernel instance's own memory, so that records copied into a slot once
 * (a shuffle pool's) are distorted where they lie: one call per batch, no copy in, one copy out.
 * Each slab has its own instance and memory (freed with the slab); the memory is sized once, so the
 * views stay valid.
 */
export class RecordSlab {
  /** All slots, back to back: slot s is `bytes.subarray(s * recordBytes, (s + 1) * recordBytes)`. */
  readonly bytes: Uint8Array;
  /** Per-call arguments: slots of the records to distort, and their draws. */
  readonly slotsOf: Int32Array;
  readonly draws: BlockDraws;
  private readonly offsets: Int32Array;
  private readonly out: Float32Array;
  private readonly at: ArgumentLayout & { records: number };

  private constructor(
    private readonly k: Exports,
    readonly layout: RecordSlabLayout,
  ) {
    const { slots, recordBytes, maxBatch, size } = layout;
    const per = size * size * 3;
    const records = align(k.heap_base());
    const at = argumentLayout(records + slots * recordBytes, maxBatch, CHUNK * per);
    if (at.end > k.memory.buffer.byteLength)
      k.memory.grow(Math.ceil((at.end - k.memory.buffer.byteLength) / 65536));
    const heap = k.memory.buffer;
    this.at = { ...at, records };
    this.bytes = new Uint8Array(heap, records, slots * recordBytes);
    this.offsets = new Int32Array(heap, at.addresses, maxBatch);
    this.slotsOf = new Int32Array(maxBatch);
    this.draws = drawViews(heap, at, maxBatch);
    this.out = new Float32Array(heap, at.out, CHUNK * per);
  }

  /** A slab, or null where WebAssembly SIMD is missing (or memory for it is not available). */
  static create(layout: RecordSlabLayout): RecordSlab | null {
    const k = newInstance();
    if (!k) return null;
    try {
      return new RecordSlab(k, layout);
    } catch {
      return null; // memory.grow refused
    }
  }

  /**
   * Distorts the records in slots `slotsOf[0..count)` with `draws[0..count)` into `out` (count ·
   * size · size · 3 floats, HWC per record).
   */
  distort(count: number, out: Float32Array): Float32Array {
    const { recordBytes, planesOffset, size } = this.layout;
    const per = size * size * 3;
    for (let i = 0; i < count; i++) this.offsets[i] = this.slotsOf[i] * recordBytes;
    const a = this.at;
    // A few records per call, so that the kernel's output is still in cache when copied out.
    for (let i = 0; i < count; i += CHUNK) {
      const n = Math.min(CHUNK, count - i);
      gatherChunk(this.k, a.records, a, i, n, planesOffset, size);
      out.set(this.out.subarray(0, n * per), i * per);
    }
    return out;
  }
}

const PAGE = 65536;
/** Bytes at the start of a shared kernel memory kept for the module itself (its __heap_base). */
const MODULE_RESERVE = 1 << 20;

/** Bytes one thread's SharedDistortKernel needs for batches of up to `maxBatch` records. */
export function kernelRegionBytes(maxBatch: number, size: number): number {
  return align(argumentLayout(0, maxBatch, CHUNK * size * size * 3).end);
}

/**
 * A shared WebAssembly memory of at least `bytes` usable bytes after the module's reserve (records
 * and per-thread regions go at `sharedMemoryStart` and on), for kernels on several threads; null
 * where shared WebAssembly memory is unavailable or that much memory cannot be had.
 */
export function sharedKernelMemory(bytes: number): WasmMemory | null {
  const pages = Math.ceil((MODULE_RESERVE + bytes) / PAGE);
  if (pages > 65536) return null; // wasm32: 4 GiB at most
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null;
  }
}

/** Where the caller's bytes start in a sharedKernelMemory. */
export const sharedMemoryStart = MODULE_RESERVE;

let sharedModule: object | null | undefined;

/**
 * The kernel on one thread over a shared memory holding records (a dataset cache or a shuffle
 * pool's slots) that other threads write or read too: records are distorted where they lie, given
 * their byte addresses. Each thread's instance has its own region for arguments and output (the
 * kernel keeps nothing else in memory: no stack, no data), and copies its output out of the shared
 * memory with Buffer.copy (a plain memcpy; typed-array copies from shared memory are far slower).
 */
export class SharedDistortKernel {
  /** Per-call arguments: records' byte addresses in the memory, and their draws. */
  readonly addresses: Int32Array;
  readonly draws: BlockDraws;
  private readonly outBytes: Buffer;
  private readonly at: ArgumentLayout;

  private constructor(
    private readonly k: Exports,
    memory: WasmMemory,
    region: number,
    readonly maxBatch: number,
    readonly size: number,
  ) {
    const heap = memory.buffer;
    const at = argumentLayout(region, maxBatch, CHUNK * size * size * 3);
    this.at = at;
    this.addresses = new Int32Array(heap, at.addresses, maxBatch);
    this.draws = drawViews(heap, at, maxBatch);
    this.outBytes = Buffer.from(heap, at.out, CHUNK * size * size * 3 * 4);
  }

  /** A kernel using bytes [region, region + kernelRegionBytes) of `memory`; null without WebAssembly SIMD. */
  static create(
    memory: WasmMemory,
    region: number,
    maxBatch: number,
    size: number,
  ): SharedDistortKernel | null {
    if (sharedModule === null) return null; // compiling failed once: it would again
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      sharedModule ??= new wasm.Module(Buffer.from(WASM_SHARED_BASE64, 'base64'));
      const k = new wasm.Instance(sharedModule, { env: { memory } }).exports as Exports;
      if (k.heap_base() > MODULE_RESERVE) return null;
      return new SharedDistortKernel(k, memory, region, maxBatch, size);
    } catch {
      sharedModule = null;
      return null;
    }
  }

  /**
   * Distorts the records at `addresses[0..count)` (planes `planesOffset` bytes in) with
   * `draws[0..count)` into `out` (count · size · size · 3 floats, HWC per record).
   */
  distort(count: number, planesOffset: number, out: Float32Array): void {
    const per = this.size * this.size * 3;
    const target = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    const a = this.at;
    for (let i = 0; i < count; i += CHUNK) {
      const n = Math.min(CHUNK, count - i);
      // records = 0: addresses are absolute.
      gatherChunk(this.k, 0, a, i, n, planesOffset, this.size);
      this.outBytes.copy(target, i * per * 4, 0, n * per * 4);
    }
  }
}
