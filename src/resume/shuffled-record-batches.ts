import { map } from 'rxjs';
import { shuffleBatchFrom } from '../batch/batch.js';
import { prefetch as prefetchStage } from '../batch/prefetch.js';
import type { Batch } from '../batch/stack.js';
import { InputError, invalidArgument } from '../core/errors.js';
import { type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption, optionalIntegerOption } from '../core/validate.js';
import { stringInputProducer } from '../producers/string-input-producer.js';
import { fixedLengthRecordReader } from '../readers/fixed-length-record-reader.js';
import type { KeyValue } from '../readers/whole-file-reader.js';
import { RecordLocator } from './record-locator.js';
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
  /** Per-record check or transform applied to every record read (e.g. label range checks). */
  check?: (record: KeyValue) => KeyValue;
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
export type ShuffledRecordBatches = Stream<IndexedRecordBatch> & {
  readonly seed: number;
  position(): RecordBatchesPosition;
};

const STAGE = 'shuffledRecordBatches';

/**
 * stringInputProducer → fixedLengthRecordReader → (stream index) → shuffleBatch, resumable: after
 * any batch, `position()` names the epoch, file order, file, record offset, pool contents and
 * generator counter, and the same call with `resume: position` delivers exactly the batches that
 * would have followed — without replaying the stream: the pool's records are re-read by location
 * and reading starts at the saved record. The CIFAR `distortedInputs` pipeline is built on it.
 */
export function shuffledRecordBatches(options: ShuffledRecordBatchesOptions): ShuffledRecordBatches {
  const o = objectOption(STAGE, 'options', options) as unknown as ShuffledRecordBatchesOptions;
  const recordBytes = integerOption(STAGE, 'recordBytes', o.recordBytes, { min: 1 });
  const batchSize = integerOption(STAGE, 'batchSize', o.batchSize, { min: 1 });
  const minAfterDequeue = integerOption(STAGE, 'minAfterDequeue', o.minAfterDequeue, { min: 0 });
  const capacity = integerOption(STAGE, 'capacity', o.capacity, { min: minAfterDequeue + 1 });
  const seed = integerOption(STAGE, 'seed', o.seed, { min: 0 });
  const shuffleFiles = booleanOption(STAGE, 'shuffleFiles', o.shuffleFiles, true);
  const numEpochs = optionalIntegerOption(STAGE, 'numEpochs', o.numEpochs, { min: 1 });
  const ahead = integerOption(STAGE, 'prefetch', o.prefetch, { min: 0, defaultValue: 0 });
  if (!Array.isArray(o.files) || o.files.some((f) => typeof f !== 'string'))
    throw invalidArgument('files', 'an array of file names', o.files, STAGE);
  if (!Array.isArray(o.counts) || o.counts.some((c) => !Number.isSafeInteger(c) || c < 0))
    throw invalidArgument('counts', 'an array of record counts', o.counts, STAGE);
  const files = [...o.files];
  const counts = [...o.counts];
  const check = o.check ?? ((r: KeyValue) => r);
  const locator = new RecordLocator({ files, counts, seed, shuffle: shuffleFiles });
  const total = numEpochs === undefined ? undefined : numEpochs * locator.perEpoch;
  const config = { seed, batchSize, minAfterDequeue, recordBytes, counts };
  const from = o.resume === undefined ? undefined : checkPosition(o.resume, config);
  const start: ShuffleReplayState = from
    ? { pool: from.pool, rngDrawn: from.rngDrawn, nextIndex: from.nextIndex, picks: from.batches * batchSize }
    : { pool: [], rngDrawn: 0, nextIndex: 0, picks: 0 };
  const replayOptions = { minAfterDequeue, seed, name: 'shuffle_batch', total };
  let replay = new ShuffleReplay(replayOptions, start);
  const read = (names: Source<string>) => fixedLengthRecordReader(names, { recordBytes, copy: true });

  async function* recordsFrom(first: number): AsyncGenerator<IndexedRecord> {
    if (total !== undefined && first >= total) return;
    const at = locator.locate(first);
    let index = first;
    const head = read([at.file]);
    let n = 0;
    for await (const r of head) {
      if (n++ < at.record) continue;
      yield { key: r.key, index: index++, value: check(r).value };
    }
    const next =
      at.position + 1 < files.length
        ? { epoch: at.epoch, index: at.position + 1 }
        : { epoch: at.epoch + 1, index: 0 };
    if (numEpochs !== undefined && next.epoch >= numEpochs) return;
    const producer = stringInputProducer(files, { shuffle: shuffleFiles, seed, numEpochs, start: next });
    for await (const r of read(producer)) {
      yield { key: r.key, index: index++, value: check(r).value };
    }
  }

  let delivered = 0;
  async function* batchesFromStart(): AsyncGenerator<IndexedRecordBatch> {
    delivered = 0;
    const items = await poolRecords(start.pool);
    const shuffled = shuffleBatchFrom(
      Stream.from(recordsFrom(start.nextIndex), 'indexed_records'),
      { batchSize, capacity, minAfterDequeue, seed },
      { items, rngDrawn: start.rngDrawn },
    );
    yield* ahead > 0 ? prefetchStage(shuffled, ahead) : shuffled;
  }
  const opened = Stream.from({ [Symbol.asyncIterator]: batchesFromStart }, 'shuffled_record_batches');

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
      for await (const r of read([files[fileIndex]])) {
        const slots = wanted.get(n++);
        if (slots === undefined) continue;
        const value = check(r).value;
        // Each slot owns its bytes, as records read in the stream do.
        for (const [i, slot] of slots.entries())
          items[slot] = { key: r.key, index: indices[slot], value: i === 0 ? value : value.slice() };
        if (++found === wanted.size) break;
      }
      if (found < wanted.size) {
        throw new InputError(
          `${STAGE}: Expected ${counts[fileIndex]} records in ${JSON.stringify(files[fileIndex])} to resume from the checkpoint but it has ${n}`,
          { file: files[fileIndex], stage: STAGE, parameter: 'resume' },
        );
      }
    }
    return items;
  }

  const stream = opened.pipe(
    map((b) => {
      delivered++;
      return b as IndexedRecordBatch;
    }),
  ) as Stream<IndexedRecordBatch>;
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

function checkPosition(value: unknown, config: RecordBatchesPosition['config']): RecordBatchesPosition {
  const p = objectOption(STAGE, 'resume', value) as Partial<RecordBatchesPosition>;
  if (p.kind !== 'inqueue.shuffledRecordBatches' || p.version !== 1)
    throw invalidArgument(
      'resume',
      'a position from shuffledRecordBatches().position() (version 1)',
      value,
      STAGE,
    );
  for (const k of ['seed', 'batchSize', 'minAfterDequeue', 'recordBytes'] as const) {
    if (p.config?.[k] !== config[k]) {
      throw invalidArgument(
        `resume.config.${k}`,
        `${config[k]} (this pipeline's ${k})`,
        p.config?.[k],
        STAGE,
      );
    }
  }
  if (JSON.stringify(p.config?.counts) !== JSON.stringify(config.counts))
    throw invalidArgument(
      'resume.config.counts',
      `[${config.counts}] (records per file now)`,
      p.config?.counts,
      STAGE,
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
      STAGE,
    );
  return p as RecordBatchesPosition;
}
