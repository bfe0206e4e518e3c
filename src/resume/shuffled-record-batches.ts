import { map } from 'rxjs';
import { shuffleBatchFrom } from '../batch/batch.js';
import { prefetch as prefetchStage } from '../batch/prefetch.js';
import type { Batch } from '../batch/stack.js';
import { InputError, invalidArgument } from '../core/errors.js';
import { type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption, optionalIntegerOption } from '../core/validate.js';
import { stringInputProducer } from '../producers/string-input-producer.js';
import { fixedLengthRecordBlocks } from '../readers/fixed-length-record-reader.js';
import { type RecordLocation, RecordLocator } from './record-locator.js';
import { ShuffleReplay, type ShuffleReplayState } from './shuffle-position.js';

/** A raw record with its stream index (the key of its per-record random draws). */
export interface IndexedRecord {
  key: string;
  index: number;
  value: Uint8Array;
}

export type IndexedRecordBatch = Batch<IndexedRecord>;

export interface ShuffledRecordBatchesOptions {
  /** Reader names (paths or `<archive>#<entry>`), in list order. */
  files: readonly string[];
  /** Records in each file (their sizes / recordBytes). */
  counts: readonly number[];
  recordBytes: number;
  batchSize: number;
  minAfterDequeue: number;
  capacity: number;
  /** Seed of the file orders and the shuffle. */
  seed: number;
  /** Shuffle the file order every epoch (default true). */
  shuffleFiles?: boolean;
  /** Passes over the files; unset: forever. */
  numEpochs?: number;
  /**
   * A check every record read passes (label ranges, say): the record is
   * `bytes[offset .. offset + recordBytes)`, record number `record` of `file`; it throws to fail the
   * stream (no skipping: a skipped record would shift the stream indices positions rely on).
   */
  check?: (bytes: Uint8Array, offset: number, file: string, record: number) => void;
  /** Batches made ahead of the consumer (default 0: none). */
  prefetch?: number;
  /** A position from `position()` of an earlier stream built with the same options. */
  resume?: RecordBatchesPosition;
}

/** Where a shuffled-record-batch stream stands: what a checkpoint stores (JSON). */
export interface RecordBatchesPosition {
  kind: 'inqueue.shuffledRecordBatches';
  version: 1;
  /** Batches delivered to the consumer. */
  batches: number;
  /** The next record to read: its stream index, epoch, the epoch's file order, file and record. */
  nextIndex: number;
  epoch: number;
  fileOrder: string[];
  file: string | null;
  record: number;
  /** The shuffle pool, as stream indices in pool order, and its generator's counter. */
  pool: number[];
  rngDrawn: number;
  /** What the position is only valid for. */
  config: { seed: number; batchSize: number; minAfterDequeue: number; recordBytes: number; counts: number[] };
}

/** The stream, with the position after the last batch it delivered. */
export type ShuffledRecordBatches = ResumableBatches<IndexedRecordBatch>;

const STAGE = 'shuffledRecordBatches';

/** Consecutive records of one file with the stream index of the first. */
export interface IndexedBlock {
  file: string;
  /** Number of the first record in its file. */
  record: number;
  /** Stream index of the first record. */
  index: number;
  count: number;
  /** The records back to back (`recordBytes` each). */
  bytes: Uint8Array;
}

/**
 * What a batching engine over a shuffledRecordBatches plan is given: the validated options, the
 * state to start from, and the reads. Engines must make picks with ShufflePool's rule (seed,
 * `shuffle_batch`) over the records in stream order, so that `position()` (a replay of that rule)
 * describes them.
 */
export interface RecordBatchPlan {
  files: readonly string[];
  recordBytes: number;
  batchSize: number;
  minAfterDequeue: number;
  capacity: number;
  seed: number;
  /** Where the run starts: pool (stream indices), generator counter, next index, picks made. */
  start: ShuffleReplayState;
  /** The records from stream index `first` on, checked, each owning its bytes. */
  records(first: number): AsyncGenerator<IndexedRecord>;
  /** The same records a block at a time (checked; bytes valid until the next block is asked for). */
  blocks(first: number): AsyncGenerator<IndexedBlock>;
  /** The records with these stream indices, in that order, re-read by location (resuming a pool). */
  poolRecords(indices: number[]): Promise<IndexedRecord[]>;
  /** The key (`<file>:<record>`) of the record with this stream index. */
  keyOf(index: number): string;
  /** Records in each file, as given. */
  counts: readonly number[];
  /** Records in the whole run (finite epochs), or undefined (endless). */
  total: number | undefined;
  /** Where the record with this stream index comes from (epoch, position in its order, file, record). */
  locate(index: number): RecordLocation;
  /** The file order of an epoch, as indices into `files`. */
  order(epoch: number): Uint32Array;
  /** All of one file's records, checked, a block at a time (numbered from 0; stream indices unset). */
  fileBlocks(fileIndex: number): AsyncGenerator<IndexedBlock>;
}

/** A resumable stream whose batches an engine makes from a plan (see shuffledRecordBatches). */
export type ResumableBatches<B> = Stream<B> & {
  readonly seed: number;
  position(): RecordBatchesPosition;
};

/**
 * stringInputProducer → fixedLengthRecordReader → (stream index) → shuffleBatch, resumable: after
 * any batch, `position()` names the epoch, file order, file, record offset, pool contents and
 * generator counter, and the same call with `resume: position` delivers exactly the batches that
 * would have followed — without replaying the stream: the pool's records are re-read by location
 * and reading starts at the saved record. The CIFAR `distortedInputs` pipeline is built on it.
 */
export function shuffledRecordBatches(options: ShuffledRecordBatchesOptions): ShuffledRecordBatches {
  return resumableBatches(options, (plan) => ({
    async *[Symbol.asyncIterator]() {
      const items = await plan.poolRecords(plan.start.pool);
      yield* shuffleBatchFrom(
        Stream.from(plan.records(plan.start.nextIndex), 'indexed_records'),
        {
          batchSize: plan.batchSize,
          capacity: plan.capacity,
          minAfterDequeue: plan.minAfterDequeue,
          seed: plan.seed,
        },
        { items, rngDrawn: plan.start.rngDrawn },
      ) as AsyncIterable<IndexedRecordBatch>;
    },
  }));
}

/**
 * The resumable frame around a batching engine: validates the options, plans the start (from
 * `resume` or the beginning), runs the engine's batches through `prefetch`, counts the batches
 * delivered and answers `position()` by replaying the pick rule up to them.
 */
export function resumableBatches<B>(
  options: ShuffledRecordBatchesOptions,
  engine: (plan: RecordBatchPlan) => AsyncIterable<B>,
  stage = STAGE,
): ResumableBatches<B> {
  const o = objectOption(stage, 'options', options) as unknown as ShuffledRecordBatchesOptions;
  const recordBytes = integerOption(stage, 'recordBytes', o.recordBytes, { min: 1 });
  const batchSize = integerOption(stage, 'batchSize', o.batchSize, { min: 1 });
  const minAfterDequeue = integerOption(stage, 'minAfterDequeue', o.minAfterDequeue, { min: 0 });
  const capacity = integerOption(stage, 'capacity', o.capacity, { min: minAfterDequeue + 1 });
  const seed = integerOption(stage, 'seed', o.seed, { min: 0 });
  const shuffleFiles = booleanOption(stage, 'shuffleFiles', o.shuffleFiles, true);
  const numEpochs = optionalIntegerOption(stage, 'numEpochs', o.numEpochs, { min: 1 });
  const ahead = integerOption(stage, 'prefetch', o.prefetch, { min: 0, defaultValue: 0 });
  if (!Array.isArray(o.files) || o.files.some((f) => typeof f !== 'string'))
    throw invalidArgument('files', 'an array of file names', o.files, stage);
  if (!Array.isArray(o.counts) || o.counts.some((c) => !Number.isSafeInteger(c) || c < 0))
    throw invalidArgument('counts', 'an array of record counts', o.counts, stage);
  if (o.check !== undefined && typeof o.check !== 'function')
    throw invalidArgument('check', 'a function (bytes, offset, file, record)', o.check, stage);
  const files = [...o.files];
  const counts = [...o.counts];
  const check = o.check;
  const locator = new RecordLocator({ files, counts, seed, shuffle: shuffleFiles });
  const total = numEpochs === undefined ? undefined : numEpochs * locator.perEpoch;
  const config = { seed, batchSize, minAfterDequeue, recordBytes, counts };
  const from = o.resume === undefined ? undefined : checkPosition(o.resume, config, stage);
  const start: ShuffleReplayState = from
    ? { pool: from.pool, rngDrawn: from.rngDrawn, nextIndex: from.nextIndex, picks: from.batches * batchSize }
    : { pool: [], rngDrawn: 0, nextIndex: 0, picks: 0 };
  const replayOptions = { minAfterDequeue, seed, name: 'shuffle_batch', total };
  let replay = new ShuffleReplay(replayOptions, start);
  const readBlocks = (names: Source<string>) => fixedLengthRecordBlocks(names, { recordBytes, reuse: true });

  /** A file that no longer has the records it had when the pipeline was made. */
  const changed = (file: string, detail: string) =>
    new InputError(
      `${stage}: Expected the files to keep the record counts they had when the pipeline was made ` +
        `([${counts.join(', ')}]) but ${JSON.stringify(file)} changed: ${detail}`,
      { file, stage, parameter: 'counts' },
    );

  /**
   * Checked blocks of `names` with stream indices from `index` (returned: the index after the last),
   * leaving out the first `skip` records (resuming mid-file: they are read, so keys and errors keep
   * their record numbers, and dropped). With `located`, every block must be where the stream index
   * says (RecordLocator over `counts`): a file that grew or shrank would shift every index after it.
   */
  async function* indexed(
    names: Source<string>,
    index: number,
    skip: number,
    located: boolean,
  ): AsyncGenerator<IndexedBlock, number> {
    for await (const b of readBlocks(names)) {
      const drop = Math.max(0, Math.min(b.count, skip - b.first));
      if (drop === b.count) continue;
      const record = b.first + drop;
      const count = b.count - drop;
      if (located) {
        const at = locator.locate(index);
        if (at.file !== b.file || at.record !== record)
          throw changed(
            b.file,
            `its record ${record} came where record ${at.record} of ${JSON.stringify(at.file)} was due`,
          );
        if (record + count > counts[at.fileIndex])
          throw changed(b.file, `it has more than ${counts[at.fileIndex]} records`);
      }
      const bytes = drop > 0 ? b.bytes.subarray(drop * recordBytes) : b.bytes;
      if (check) for (let k = 0; k < count; k++) check(bytes, k * recordBytes, b.file, record + k);
      yield { file: b.file, record, index, count, bytes };
      index += count;
    }
    return index;
  }

  async function* blocks(first: number): AsyncGenerator<IndexedBlock> {
    if (total !== undefined && first >= total) return;
    const at = locator.locate(first);
    let end = yield* indexed([at.file], first, at.record, true);
    const headEnd = first + counts[at.fileIndex] - at.record;
    if (end !== headEnd) throw changed(at.file, `it has ${at.record + end - first} records`);
    const next =
      at.position + 1 < files.length
        ? { epoch: at.epoch, index: at.position + 1 }
        : { epoch: at.epoch + 1, index: 0 };
    if (numEpochs === undefined || next.epoch < numEpochs) {
      const producer = stringInputProducer(files, { shuffle: shuffleFiles, seed, numEpochs, start: next });
      end = yield* indexed(producer, headEnd, 0, true);
    }
    if (total !== undefined && end < total) {
      const last = locator.locate(end);
      throw changed(last.file, `the run ended ${total - end} records short, at record ${last.record} of it`);
    }
  }

  async function* records(first: number): AsyncGenerator<IndexedRecord> {
    for await (const b of blocks(first)) {
      for (let k = 0; k < b.count; k++) {
        yield {
          key: `${b.file}:${b.record + k}`,
          index: b.index + k,
          value: b.bytes.slice(k * recordBytes, (k + 1) * recordBytes),
        };
      }
    }
  }

  async function poolRecords(indices: number[]): Promise<IndexedRecord[]> {
    if (indices.length === 0) return [];
    // fileIndex -> record -> pool slots (one record can be pooled twice: from two epochs).
    const byFile = new Map<number, Map<number, number[]>>();
    for (const [slot, index] of indices.entries()) {
      const at = locator.locate(index);
      let wanted = byFile.get(at.fileIndex);
      if (!wanted) byFile.set(at.fileIndex, (wanted = new Map()));
      const slots = wanted.get(at.record);
      if (slots) slots.push(slot);
      else wanted.set(at.record, [slot]);
    }
    const items = new Array<IndexedRecord>(indices.length);
    for (const [fileIndex, wanted] of byFile) {
      let n = 0;
      let found = 0;
      const file = files[fileIndex];
      scan: for await (const b of readBlocks([file])) {
        for (let k = 0; k < b.count; k++, n++) {
          const slots = wanted.get(n);
          if (slots === undefined) continue;
          check?.(b.bytes, k * recordBytes, file, n);
          // Each slot owns its bytes, as records read in the stream do.
          for (const slot of slots)
            items[slot] = {
              key: `${file}:${n}`,
              index: indices[slot],
              value: b.bytes.slice(k * recordBytes, (k + 1) * recordBytes),
            };
          if (++found === wanted.size) break scan;
        }
      }
      if (found < wanted.size) {
        throw new InputError(
          `${stage}: Expected ${counts[fileIndex]} records in ${JSON.stringify(file)} to resume from the checkpoint but it has ${n}`,
          { file, stage, parameter: 'resume' },
        );
      }
    }
    return items;
  }

  const plan: RecordBatchPlan = {
    files,
    recordBytes,
    batchSize,
    minAfterDequeue,
    capacity,
    seed,
    start,
    records,
    blocks,
    poolRecords,
    keyOf(index) {
      const at = locator.locate(index);
      return `${at.file}:${at.record}`;
    },
    counts,
    total,
    locate: (index) => locator.locate(index),
    order: (epoch) => locator.order(epoch),
    fileBlocks: async function* (fileIndex) {
      yield* indexed([files[fileIndex]], 0, 0, false);
    },
  };
  let delivered = 0;
  const opened = Stream.from(
    {
      async *[Symbol.asyncIterator]() {
        delivered = 0;
        const made = Stream.from(engine(plan), 'record_batches');
        yield* ahead > 0 ? prefetchStage(made, ahead) : made;
      },
    },
    'shuffled_record_batches',
  );
  const stream = opened.pipe(
    map((b) => {
      delivered++;
      return b as B;
    }),
  ) as Stream<B>;
  return Object.assign(stream, {
    seed,
    position(): RecordBatchesPosition {
      const batches = start.picks / batchSize + delivered;
      // A stream iterated again starts over: so does its replay.
      if (replay.picks > batches * batchSize) replay = new ShuffleReplay(replayOptions, start);
      const s = replay.advanceTo(batches * batchSize);
      const done = total !== undefined && s.nextIndex >= total;
      const at = done ? undefined : locator.locate(s.nextIndex);
      const epoch = at ? at.epoch : (numEpochs ?? 0);
      return {
        kind: 'inqueue.shuffledRecordBatches',
        version: 1,
        batches,
        nextIndex: s.nextIndex,
        epoch,
        fileOrder: at ? Array.from(locator.order(epoch), (i) => files[i]) : [],
        file: at ? at.file : null,
        record: at ? at.record : 0,
        pool: s.pool,
        rngDrawn: s.rngDrawn,
        config,
      };
    },
  });
}

function checkPosition(
  value: unknown,
  config: RecordBatchesPosition['config'],
  stage: string,
): RecordBatchesPosition {
  const p = objectOption(stage, 'resume', value) as Partial<RecordBatchesPosition>;
  if (p.kind !== 'inqueue.shuffledRecordBatches' || p.version !== 1)
    throw invalidArgument(
      'resume',
      'a position from shuffledRecordBatches().position() (version 1)',
      value,
      stage,
    );
  for (const k of ['seed', 'batchSize', 'minAfterDequeue', 'recordBytes'] as const) {
    if (p.config?.[k] !== config[k]) {
      throw invalidArgument(
        `resume.config.${k}`,
        `${config[k]} (this pipeline's ${k})`,
        p.config?.[k],
        stage,
      );
    }
  }
  if (JSON.stringify(p.config?.counts) !== JSON.stringify(config.counts))
    throw invalidArgument(
      'resume.config.counts',
      `[${config.counts}] (records per file now)`,
      p.config?.counts,
      stage,
    );
  const ok =
    Number.isSafeInteger(p.batches) &&
    (p.batches as number) >= 0 &&
    Number.isSafeInteger(p.nextIndex) &&
    (p.nextIndex as number) >= 0 &&
    Number.isSafeInteger(p.rngDrawn) &&
    (p.rngDrawn as number) >= 0 &&
    Array.isArray(p.pool) &&
    p.pool.length <= config.minAfterDequeue &&
    p.pool.every((i) => Number.isSafeInteger(i) && i >= 0 && i < (p.nextIndex as number));
  if (!ok)
    throw invalidArgument(
      'resume',
      'a well-formed position (batches, nextIndex, rngDrawn, pool)',
      value,
      stage,
    );
  return p as RecordBatchesPosition;
}
