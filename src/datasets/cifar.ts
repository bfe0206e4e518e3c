import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { map } from 'rxjs';
import { batch } from '../batch/batch.js';
import type { Batch } from '../batch/stack.js';
import { BufferRecycler } from '../core/buffer-recycler.js';
import {
  type ErrorPolicy,
  type ErrorPolicyOptions,
  errorPolicyOption,
  handleElementError,
} from '../core/error-policy.js';
import { DecodeError, invalidArgument, NotFoundError } from '../core/errors.js';
import { randomSeed } from '../core/rng.js';
import type { StageCounters } from '../core/stats.js';
import { returnsUpstreamFirst, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { type CifarExample, decodeCifarRecord } from '../decode/cifar-record.js';
import { cifarEvalTransform } from '../image/cifar-eval-transform.js';
import type { DistortedCifarBatch } from '../image/distort-cifar-batch.js';
import { stringInputProducer } from '../producers/string-input-producer.js';
import { fixedLengthRecordReader } from '../readers/fixed-length-record-reader.js';
import { type KeyValue, wholeFileReader } from '../readers/whole-file-reader.js';
import { type RecordBatchesPosition, resumableBatches } from '../resume/shuffled-record-batches.js';
import { listTar } from '../sources/tar-entries.js';
import { slabDistortedBatches } from './cifar-slab-batches.js';

/**
 * Error policy of `records` (and so `examples()`): under `'skip'`/`'warn'` a record whose label byte
 * is out of range for the meta file's classes is dropped and counted in the `cifar10`/`cifar100`
 * stage (DecodeError, keyed `<file>:<index>`), and a truncated or unreadable data file in the
 * reader's stage (`fixed_length_record_reader`); each stage has its own `maxErrors`.
 */
export interface CifarOptions extends ErrorPolicyOptions {
  /**
   * The extracted folder (holding `cifar-10-batches-bin/` or `cifar-100-binary/`, or that folder
   * itself), or the published archive (`cifar-10-binary.tar.gz`, `cifar-100-binary.tar.gz`), read
   * in place without extracting.
   */
  path: string;
  /** `'train'` (default) or `'test'`. */
  split?: 'train' | 'test';
  /** Passes over the files; unset: forever (as TF's string_input_producer). */
  numEpochs?: number;
  /** Shuffle the *file* order every epoch (default true); records are shuffled by shuffleBatch. */
  shuffle?: boolean;
  /** Seed of the file order; random when unset. */
  seed?: number;
}

export interface CifarDataset {
  /** Class names from the meta file (CIFAR-100: the fine classes), index = label. */
  classNames: string[];
  /** CIFAR-100 only: the coarse (superclass) names. */
  coarseClassNames?: string[];
  /** 1 (CIFAR-10) or 2 (CIFAR-100: coarse, then fine). */
  labelBytes: 1 | 2;
  /** The split's files, as reader names (`<archive>#<entry>` inside an archive). */
  files: string[];
  /** Records in one pass over the split's files (from their sizes). */
  examplesPerEpoch: number;
  /** Records in each of `files`. */
  recordCounts: number[];
  /** The raw records (`labelBytes + 3072` bytes each, owning their bytes), labels checked. */
  records: Stream<KeyValue>;
  /** The records decoded: `{ key, label, image }` (+ `coarseLabel`, `fineLabel` for CIFAR-100). */
  examples(): Stream<CifarExample & { key: string }>;
}

interface Variant {
  stage: string;
  dir: string;
  labelBytes: 1 | 2;
  train: string[];
  test: string[];
  /** Meta files: fine (or only) names first, then coarse. */
  meta: string[];
}

const CIFAR10: Variant = {
  stage: 'cifar10',
  dir: 'cifar-10-batches-bin',
  labelBytes: 1,
  train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
  test: ['test_batch.bin'],
  meta: ['batches.meta.txt'],
};

const CIFAR100: Variant = {
  stage: 'cifar100',
  dir: 'cifar-100-binary',
  labelBytes: 2,
  train: ['train.bin'],
  test: ['test.bin'],
  meta: ['fine_label_names.txt', 'coarse_label_names.txt'],
};

/** CIFAR-10's binary files as raw records and decoded examples (see docs/datasets-cifar.md). */
export async function cifar10(options: CifarOptions): Promise<CifarDataset> {
  return (await open(CIFAR10, options)).dataset;
}

/** CIFAR-100's binary files; `label` is the fine label, `coarseLabel` the superclass. */
export async function cifar100(options: CifarOptions): Promise<CifarDataset> {
  return (await open(CIFAR100, options)).dataset;
}

interface Opened {
  dataset: CifarDataset;
  /** The label checks every record passes through: record number `record` of `file` at `bytes[offset]`. */
  checkAt: (bytes: Uint8Array, offset: number, file: string, record: number) => void;
  recordBytes: number;
}

async function open(v: Variant, options: CifarOptions): Promise<Opened> {
  const { stage } = v;
  const o = objectOption(stage, 'options', options) as Partial<CifarOptions>;
  if (typeof o.path !== 'string' || o.path.length === 0) {
    throw invalidArgument('path', 'a folder or archive path (a non-empty string)', o.path, stage);
  }
  const split = oneOfOption(stage, 'split', o.split, ['train', 'test'] as const, 'train');
  const numEpochs =
    o.numEpochs === undefined ? undefined : integerOption(stage, 'numEpochs', o.numEpochs, { min: 1 });
  const shuffle = booleanOption(stage, 'shuffle', o.shuffle, true);
  const seed = o.seed === undefined ? undefined : integerOption(stage, 'seed', o.seed, { min: 0 });
  const policy = errorPolicyOption(stage, o);
  const wanted = [...v[split], ...v.meta];
  const found = await locate(v, o.path, wanted);
  const recordBytes = v.labelBytes + 3072;
  const files = v[split].map((n) => found.get(n)!.name);
  const recordCounts = v[split].map((n) => Math.floor(found.get(n)!.size / recordBytes));
  const examplesPerEpoch = recordCounts.reduce((a, b) => a + b, 0);
  if (examplesPerEpoch === 0) {
    // Files too short for one record: reading them forever (numEpochs unset) would spin on nothing.
    const sizes = v[split].map((n) => `${found.get(n)!.name} (${found.get(n)!.size} bytes)`);
    throw new DecodeError(
      `${stage}: Expected records of ${recordBytes} bytes in the ${split} split's files but they hold none: ${sizes.join(', ')}`,
      { file: files[0], offset: 0, stage, parameter: 'path' },
    );
  }
  const metas = await Promise.all(v.meta.map((n) => readNames(found.get(n)!.name)));
  const [classNames, coarseClassNames] = metas;
  for (const [i, names] of metas.entries()) {
    if (names.length === 0) {
      const file = found.get(v.meta[i])!.name;
      throw new DecodeError(
        `${stage}: Expected class names, one per line, in ${JSON.stringify(file)} but it has none`,
        {
          file,
          stage,
          parameter: 'path',
        },
      );
    }
  }
  const checkAt = (bytes: Uint8Array, offset: number, file: string, record: number): void => {
    checkLabel(stage, bytes, offset, file, record, v.labelBytes - 1, classNames, 'label', recordBytes);
    if (coarseClassNames)
      checkLabel(stage, bytes, offset, file, record, 0, coarseClassNames, 'coarse label', recordBytes);
  };
  const check = (r: KeyValue): KeyValue => {
    const colon = r.key.lastIndexOf(':');
    checkAt(r.value, 0, r.key.slice(0, colon), Number(r.key.slice(colon + 1)));
    return r;
  };
  const producer = stringInputProducer(files, { numEpochs, shuffle, seed });
  const reader = fixedLengthRecordReader(producer, {
    recordBytes,
    copy: true,
    onError: policy.onError,
    maxErrors: policy.maxErrors,
    warn: policy.warn,
  });
  const records = new Stream<KeyValue>(
    (counters) => returnsUpstreamFirst(reader, (it) => checkedRecords(it, check, policy, stage, counters)),
    { name: stage, upstreams: [reader as Stream<unknown>] },
  );
  const labelBytes = v.labelBytes;
  const dataset: CifarDataset = {
    classNames,
    ...(coarseClassNames ? { coarseClassNames } : {}),
    labelBytes,
    files,
    examplesPerEpoch,
    recordCounts,
    records,
    examples: () => records.pipe(map((r) => ({ key: r.key, ...decodeCifarRecord(r.value, { labelBytes }) }))),
  };
  return { dataset, checkAt, recordBytes };
}

/**
 * The records that pass `check`; the others go through the policy (read = yielded + skipped; the
 * record whose error ends the stream is not counted).
 */
async function* checkedRecords(
  records: AsyncIterator<KeyValue>,
  check: (r: KeyValue) => KeyValue,
  policy: ErrorPolicy,
  stage: string,
  counters: StageCounters,
): AsyncGenerator<KeyValue> {
  try {
    for (;;) {
      counters.start();
      const r = await records.next();
      if (r.done) return;
      try {
        check(r.value);
      } catch (err) {
        handleElementError(policy, counters, err, r.value.key, stage);
        continue;
      }
      counters.read++;
      counters.elementsIn++;
      counters.elementsOut++;
      yield r.value;
    }
  } finally {
    counters.done = true;
    await records.return?.();
  }
}

function checkLabel(
  stage: string,
  bytes: Uint8Array,
  recordAt: number,
  file: string,
  record: number,
  at: number,
  names: string[],
  what: string,
  recordBytes: number,
): void {
  const label = bytes[recordAt + at];
  if (label >= names.length) {
    const key = `${file}:${record}`;
    const offset = record * recordBytes + at;
    throw new DecodeError(
      `${stage}: Expected a ${what} in [0, ${names.length - 1}] (the meta file's ${names.length} classes) for ${key} ` +
        `but the record has ${label} at byte ${at} (byte offset ${offset} of ${JSON.stringify(file)})`,
      { file, key, offset, stage, parameter: 'path' },
    );
  }
}

interface Found {
  /** Reader name: a path, or `<archive>#<entry>`. */
  name: string;
  size: number;
}

/** Finds every wanted file in the folder, its CIFAR subfolder or the archive; lists what is missing. */
async function locate(v: Variant, path: string, wanted: string[]): Promise<Map<string, Found>> {
  const { stage } = v;
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new NotFoundError(
      `${stage}: Expected a CIFAR folder or archive for path but ${JSON.stringify(path)} cannot be read: ${(err as Error).message}`,
      { file: path, stage, parameter: 'path', cause: err },
    );
  }
  const found = new Map<string, Found>();
  let where: string;
  let dirOf: string | undefined;
  if (isDir) {
    const sub = join(path, v.dir);
    const dir = (await isDirectory(sub)) ? sub : path;
    dirOf = dir;
    where = `the folder ${JSON.stringify(dir)}`;
    for (const n of wanted) {
      const file = join(dir, n);
      try {
        const st = await stat(file);
        if (st.isFile()) found.set(n, { name: file, size: st.size });
      } catch {
        // Missing: listed in the error below.
      }
    }
  } else {
    where = `the archive ${JSON.stringify(path)} (under ${v.dir}/)`;
    const inDir = new Set(wanted.map((n) => `${v.dir}/${n}`));
    for (const e of await listTar(path, { stage, match: (n) => inDir.has(n) })) {
      found.set(e.name.slice(v.dir.length + 1), { name: `${path}#${e.name}`, size: e.size });
    }
  }
  const missing = wanted.filter((n) => !found.has(n));
  if (missing.length > 0) {
    // `file` names the first missing file where it would be (a meta file included).
    const file = isDir ? join(dirOf!, missing[0]) : `${path}#${v.dir}/${missing[0]}`;
    throw new NotFoundError(
      `${stage}: Expected ${wanted.join(', ')} in ${where} but found no ${missing.join(', ')}`,
      { file, stage, parameter: 'path' },
    );
  }
  return found;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function readNames(file: string): Promise<string[]> {
  const [{ value }] = await wholeFileReader([file]).toArray();
  return new TextDecoder()
    .decode(value)
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface DistortedInputsOptions {
  path: string;
  /** Default 128. */
  batchSize?: number;
  /** Seed of the file order, the shuffle and the distortions; unset: `resume`'s, else random. */
  seed?: number;
  /** `'cifar10'` (default) or `'cifar100'`. */
  dataset?: 'cifar10' | 'cifar100';
  /** Passes over the training files; unset: forever (as the tutorial). */
  numEpochs?: number;
  /** Batches made ahead of the consumer (default 2). */
  prefetch?: number;
  /**
   * Threads distorting batches (default 1: this thread, between reads). With more, that many worker
   * threads distort while this thread reads and shuffles; the batches are the same.
   */
  numThreads?: number;
  /**
   * Hold the training files in memory, read once (default false: read every epoch, holding only the
   * shuffle pool). 150 MB for CIFAR-10; what PyTorch's and Keras' CIFAR loaders always do. Later
   * epochs read nothing, and with numThreads > 1 the workers read records where they lie.
   */
  cache?: boolean;
  /** Continue from a checkpointed `position()` of a stream with the same path, seed and batch size. */
  resume?: RecordBatchesPosition;
}

/** distortedInputs' stream: its seed, and where it stands (for checkpoints). */
export type DistortedInputs = Stream<DistortedCifarBatch> & {
  readonly seed: number;
  /** The input position after the last batch delivered (JSON): pass it back as `resume`. */
  position(): RecordBatchesPosition;
  /**
   * Hands a delivered batch's image array back for reuse, once nothing reads it any more (it was
   * copied into a device tensor, say); optional. Reusing a few arrays keeps them in cache: about
   * 1.8x the samples/s of allocating each batch's (docs/performance.md). Using the batch afterwards
   * reads another batch's pixels.
   */
  release(batch: DistortedCifarBatch): void;
};

/**
 * cifar10_input.py's `distorted_inputs`: the training files forever, raw records shuffled
 * (`min_after_dequeue` = 0.4 × examples per epoch, capacity that + 3 × batchSize), then each batch
 * distorted (random 24×24 crop, flip, brightness, contrast, standardization) as distortCifarBatch
 * does, record i keyed by its stream index. Resumable: see shuffledRecordBatches. The shuffle pool
 * is one slab of raw records and each batch one kernel call (slabDistortedBatches): the same batches
 * as shuffledRecordBatches + distortCifarBatch, without an object per record.
 */
export async function distortedInputs(options: DistortedInputsOptions): Promise<DistortedInputs> {
  const stage = 'distortedInputs';
  const o = objectOption(stage, 'options', options) as unknown as DistortedInputsOptions;
  const batchSize = integerOption(stage, 'batchSize', o.batchSize, { min: 1, defaultValue: 128 });
  // Resuming without a seed continues the checkpointed run's (a random one could never match it).
  const resumedSeed = (o.resume as { config?: { seed?: unknown } } | undefined)?.config?.seed;
  const seed =
    o.seed !== undefined
      ? integerOption(stage, 'seed', o.seed, { min: 0 })
      : typeof resumedSeed === 'number'
        ? resumedSeed
        : randomSeed(stage);
  const which = oneOfOption(stage, 'dataset', o.dataset, ['cifar10', 'cifar100'] as const, 'cifar10');
  const prefetch = integerOption(stage, 'prefetch', o.prefetch, { min: 0, defaultValue: 2 });
  const numThreads = integerOption(stage, 'numThreads', o.numThreads, { min: 1, max: 64, defaultValue: 1 });
  const cache = booleanOption(stage, 'cache', o.cache, false);
  const {
    dataset: ds,
    checkAt,
    recordBytes,
  } = await open(which === 'cifar10' ? CIFAR10 : CIFAR100, {
    path: o.path,
    split: 'train',
    seed,
  });
  const minAfterDequeue = Math.floor(0.4 * ds.examplesPerEpoch);
  // `check` raises (no error policy here): skipping a record would shift the record indices that
  // positions and resume rely on.
  const recycler = new BufferRecycler(stage);
  const stream = resumableBatches(
    {
      files: ds.files,
      counts: ds.recordCounts,
      recordBytes,
      batchSize,
      minAfterDequeue,
      capacity: minAfterDequeue + 3 * batchSize,
      seed,
      numEpochs: o.numEpochs,
      check: checkAt,
      prefetch,
      resume: o.resume,
    },
    (plan) =>
      slabDistortedBatches(plan, { seed, labelBytes: ds.labelBytes }, recycler, { numThreads, cache, stage }),
    stage,
  );
  return Object.assign(stream, { release: (b: DistortedCifarBatch) => recycler.release(b?.image?.data, b) });
}

export interface InputsOptions {
  path: string;
  /** true: the test split; false: the training split (one pass, file order, as the tutorial). */
  evalData: boolean;
  /** Default 128. */
  batchSize?: number;
  dataset?: 'cifar10' | 'cifar100';
}

export interface EvalExample {
  key: string;
  label: number;
  /** float32 [24, 24, 3], centrally cropped and standardized. */
  image: { dtype: 'float32'; shape: number[]; data: Float32Array };
}

/**
 * cifar10_input.py's `inputs`: one pass in file order, each record centrally cropped to 24×24 and
 * standardized (cifarEvalTransform), batched in order by `batch` (capacity 0.4 × examples per epoch
 * + 3 × batchSize); the last partial batch is dropped, as TF's `tf.train.batch` does.
 */
export async function inputs(options: InputsOptions): Promise<Stream<Batch<EvalExample>>> {
  const stage = 'inputs';
  const o = objectOption(stage, 'options', options) as unknown as InputsOptions;
  if (typeof o.evalData !== 'boolean') throw invalidArgument('evalData', 'a boolean', o.evalData, stage);
  const evalData = o.evalData;
  const batchSize = integerOption(stage, 'batchSize', o.batchSize, { min: 1, defaultValue: 128 });
  const which = oneOfOption(stage, 'dataset', o.dataset, ['cifar10', 'cifar100'] as const, 'cifar10');
  const ds = await (which === 'cifar10' ? cifar10 : cifar100)({
    path: o.path,
    split: evalData ? 'test' : 'train',
    numEpochs: 1,
    shuffle: false,
  });
  const transform = cifarEvalTransform({ labelBytes: ds.labelBytes });
  const examples = ds.records.pipe(
    map((r): EvalExample => {
      const { label, image } = transform(r.value);
      return { key: r.key, label, image: image as EvalExample['image'] };
    }),
  );
  const capacity = Math.floor(0.4 * ds.examplesPerEpoch) + 3 * batchSize;
  return batch(examples, { batchSize, capacity });
}
