import { invalidArgument } from '../core/errors.js';
import { CounterRng } from '../core/rng.js';
import { isTensor, type Tensor } from '../core/tensor.js';
import { objectOption } from '../core/validate.js';
import { type BlockDraws, distortRecordsWasm } from '../wasm/distort-cifar-kernel.js';
import { type DistortCifarOptions, distortCifar } from './distort-cifar.js';

export interface RawCifarBatch {
  /** The raw records, uint8 `[B, labelBytes + 3072]`. */
  value: Tensor<'uint8'>;
  /** Each record's position in the stream (its random key), int32 `[B]`. */
  index: Tensor<'int32'>;
  key?: string[];
}

export interface DistortedCifarBatch {
  key?: string[];
  index: Tensor<'int32'>;
  label: Tensor<'int32'>;
  coarseLabel?: Tensor<'int32'>;
  /** float32 `[B, size, size, 3]`. */
  image: Tensor<'float32'>;
}

export interface DistortCifarBatchOptions extends DistortCifarOptions {
  /** Seed of the per-record draws (the same seed and index give the same distortion). */
  seed: number;
  /** Op name in the random keys (default 'distort_cifar'). */
  name?: string;
}

const STAGE = 'distortCifarBatch';

/**
 * The per-record draws of distortCifar for records known by their stream index: record `index`'s
 * random source is `new CounterRng(seed, name, index)`, and its five draws come in distortCifar's
 * order. Options are validated by the caller (distortCifar).
 */
export function cifarDraws(o: DistortCifarBatchOptions): {
  /** Fills the first `count` entries of `into` with the draws of the records `indices[0..count)`. */
  drawAll(indices: ArrayLike<number>, count: number, into: BlockDraws): void;
  /** The random source of the record with that stream index (for the JavaScript fallback). */
  recordRng(index: number): CounterRng;
} {
  const size = o.size ?? 24;
  const maxDelta = o.maxDelta ?? 63;
  const [lower, upper] = o.contrast ?? [0.2, 1.8];
  const name = o.name ?? 'distort_cifar';
  const seed = o.seed;
  const recordRng = (index: number) => new CounterRng(seed, name, index, Math.floor(index / 0x100000000));
  return {
    recordRng,
    drawAll(indices, count, into) {
      for (let i = 0; i < count; i++) {
        const rng = recordRng(indices[i]);
        into.oy[i] = rng.below(32 - size + 1);
        into.ox[i] = rng.below(32 - size + 1);
        into.flip[i] = rng.uniformFloat32() < 0.5 ? 1 : 0;
        into.delta[i] = Math.fround(
          -maxDelta + Math.fround(Math.fround(2 * maxDelta) * rng.uniformFloat32()),
        );
        into.factor[i] = Math.fround(lower + Math.fround(Math.fround(upper - lower) * rng.uniformFloat32()));
      }
    },
  };
}

/**
 * distortCifar over a whole batch of raw records, for shuffling *before* distorting: record i is
 * distorted with `new CounterRng(seed, name, index[i])`, exactly what per-record distortCifar with
 * that random source gives (tested), so shuffling raw records (3 KB each, in the shuffle pool) and
 * distorting batches yields the same batches as distorting first. One call of the WebAssembly kernel
 * per batch, writing the batch tensor directly: no per-record allocation.
 */
export function distortCifarBatch(
  options: DistortCifarBatchOptions,
): (batch: RawCifarBatch) => DistortedCifarBatch {
  const o = objectOption(STAGE, 'options', options) as unknown as DistortCifarBatchOptions;
  if (!Number.isInteger(o.seed) || o.seed < 0)
    throw invalidArgument('seed', 'a non-negative integer', o.seed, STAGE);
  const single = distortCifar(o); // validates the shared options; the fallback without WebAssembly
  const size = o.size ?? 24;
  if (size > 32) throw invalidArgument('size', 'an integer in [1, 32] (records are 32x32)', size, STAGE);
  if (o.name !== undefined && typeof o.name !== 'string')
    throw invalidArgument('name', 'a string', o.name, STAGE);
  const labelBytes = o.labelBytes ?? 1;
  const recordBytes = labelBytes + 3072;
  const { drawAll, recordRng } = cifarDraws(o);

  return (batch: RawCifarBatch): DistortedCifarBatch => {
    if (
      !isTensor(batch?.value) ||
      batch.value.dtype !== 'uint8' ||
      batch.value.shape[1] !== recordBytes ||
      batch.value.data.length !== batch.value.shape[0] * recordBytes
    ) {
      throw invalidArgument('batch.value', `a uint8 tensor [B, ${recordBytes}]`, batch?.value, STAGE);
    }
    if (
      !isTensor(batch.index) ||
      batch.index.dtype !== 'int32' ||
      batch.index.shape[0] !== batch.value.shape[0]
    ) {
      throw invalidArgument('batch.index', 'an int32 tensor [B] of record indices', batch?.index, STAGE);
    }
    const n = batch.value.shape[0];
    const records = batch.value.data;
    const labels = new Int32Array(n);
    const coarse = labelBytes === 2 ? new Int32Array(n) : undefined;
    for (let i = 0; i < n; i++) {
      labels[i] = records[i * recordBytes + labelBytes - 1];
      if (coarse) coarse[i] = records[i * recordBytes];
    }
    const draws = {
      oy: new Int32Array(n),
      ox: new Int32Array(n),
      flip: new Uint8Array(n),
      delta: new Float64Array(n),
      factor: new Float64Array(n),
    };
    drawAll(batch.index.data, n, draws);
    let data =
      o.kernel === 'js' ? null : distortRecordsWasm(records, n, recordBytes, labelBytes, size, draws);
    if (!data) {
      data = new Float32Array(n * size * size * 3);
      for (let i = 0; i < n; i++) {
        const record = records.subarray(i * recordBytes, (i + 1) * recordBytes);
        data.set(single(record, recordRng(batch.index.data[i])).image.data, i * size * size * 3);
      }
    }
    const out: DistortedCifarBatch = {
      index: batch.index,
      label: { dtype: 'int32', shape: [n], data: labels },
      image: { dtype: 'float32', shape: [n, size, size, 3], data },
    };
    if (batch.key) out.key = batch.key;
    if (coarse) out.coarseLabel = { dtype: 'int32', shape: [n], data: coarse };
    return out;
  };
}
