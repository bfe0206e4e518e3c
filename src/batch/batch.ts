import { FIFOQueue } from '../core/fifo-queue.js';
import type { QueueBase } from '../core/queue-base.js';
import { QueueStageIterator } from '../core/queue-stage.js';
import { randomSeed } from '../core/rng.js';
import { type SeededStream, type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { EagerShuffleQueue } from './eager-shuffle-queue.js';
import { interleave } from './interleave.js';
import type { ShufflePoolState } from './shuffle-pool.js';
import { type Batch, type Example, type NumberDType, stack } from './stack.js';

export interface BatchOptions {
  batchSize: number;
  /** Upstream pulls kept in flight (TF's enqueue threads); order stays the upstream's. Default 1. */
  numThreads?: number;
  /** Elements the batching queue holds ahead of the consumer (default 32). */
  capacity?: number;
  /** At the end, deliver the last partial batch instead of dropping it (default false). */
  allowSmallerFinalBatch?: boolean;
  /**
   * dtypes of number fields (e.g. `{ weight: 'float32' }`). A field not named here is int32 if every
   * value of its first batch is an int32 integer, else float32, and keeps that dtype for the stream.
   */
  dtypes?: Record<string, NumberDType>;
}

export interface ShuffleBatchOptions extends Omit<BatchOptions, 'capacity'> {
  /** Most elements queued (required, > minAfterDequeue). */
  capacity: number;
  /** Elements kept in the shuffle pool while input lasts (required). */
  minAfterDequeue: number;
  /** Seed of the shuffle; random when unset (readable as the stream's `seed`). */
  seed?: number;
}

export interface JoinOptions {
  /** Round-robin across the inputs (default) or first-ready (`false`: faster, order varies). */
  deterministic?: boolean;
}

/** shuffleBatch's stream, with its seed. */
export type ShuffledStream<T> = SeededStream<T>;

/** TF's `tf.train.batch`: a FIFO queue of `capacity` examples, dequeued `batchSize` at a time. */
export function batch<E extends Example>(examples: Source<E>, options: BatchOptions): Stream<Batch<E>> {
  return fifoBatcher(examples, options, 'batch', 'batch');
}

/**
 * TF's `tf.train.shuffle_batch`: examples pass through a shuffle queue that keeps `minAfterDequeue`
 * elements while input lasts; batches are filled element by element (so `capacity` below
 * `minAfterDequeue + batchSize` cannot deadlock). See EagerShuffleQueue for why picks are eager.
 */
export function shuffleBatch<E extends Example>(
  examples: Source<E>,
  options: ShuffleBatchOptions,
): ShuffledStream<Batch<E>> {
  return shuffleBatcher(examples, options, 'shuffleBatch', 'shuffle_batch');
}

/**
 * shuffleBatch whose queue starts from a saved pool (resuming a checkpoint: see
 * src/resume/shuffled-record-batches.ts). Not part of the public API: a pool only means something
 * together with the stream position it was saved at.
 */
export function shuffleBatchFrom<E extends Example>(
  examples: Source<E>,
  options: ShuffleBatchOptions,
  initial: ShufflePoolState<E>,
): ShuffledStream<Batch<E>> {
  return shuffleBatcher(examples, options, 'shuffleBatch', 'shuffle_batch', initial);
}

/** TF's `batch_join`: several example streams (e.g. one reader each) into one batch stream. */
export function batchJoin<E extends Example>(
  sources: readonly Source<E>[],
  options: BatchOptions & JoinOptions,
): Stream<Batch<E>> {
  return fifoBatcher(
    interleave(sources, { deterministic: options?.deterministic }),
    options,
    'batchJoin',
    'batch_join',
  );
}

/** TF's `shuffle_batch_join`. */
export function shuffleBatchJoin<E extends Example>(
  sources: readonly Source<E>[],
  options: ShuffleBatchOptions & JoinOptions,
): ShuffledStream<Batch<E>> {
  return shuffleBatcher(
    interleave(sources, { deterministic: options?.deterministic }),
    options,
    'shuffleBatchJoin',
    'shuffle_batch_join',
  );
}

interface CommonOptions {
  batchSize: number;
  numThreads: number;
  allowSmaller: boolean;
  dtypes: Record<string, NumberDType>;
}

function commonOptions(stage: string, options: BatchOptions): CommonOptions {
  const o = objectOption(stage, 'options', options) as Partial<BatchOptions>;
  const dtypes = objectOption(stage, 'dtypes', o.dtypes) as Record<string, unknown>;
  for (const [field, dtype] of Object.entries(dtypes))
    oneOfOption(stage, `dtypes.${field}`, dtype, ['int32', 'float32'] as const);
  return {
    batchSize: integerOption(stage, 'batchSize', o.batchSize, { min: 1 }),
    numThreads: integerOption(stage, 'numThreads', o.numThreads, { min: 1, defaultValue: 1 }),
    allowSmaller: booleanOption(stage, 'allowSmallerFinalBatch', o.allowSmallerFinalBatch, false),
    dtypes: dtypes as Record<string, NumberDType>,
  };
}

function fifoBatcher<E extends Example>(
  examples: Source<E>,
  options: BatchOptions,
  stage: string,
  name: string,
): Stream<Batch<E>> {
  const o = commonOptions(stage, options);
  const capacity = integerOption(stage, 'capacity', options.capacity, { min: 1, defaultValue: 32 });
  return queueBatcher(examples, stage, name, capacity, () => new FIFOQueue<E>({ capacity, name }), o);
}

function shuffleBatcher<E extends Example>(
  examples: Source<E>,
  options: ShuffleBatchOptions,
  stage: string,
  name: string,
  initial?: ShufflePoolState<E>,
): ShuffledStream<Batch<E>> {
  const o = commonOptions(stage, options);
  const capacity = integerOption(stage, 'capacity', options.capacity, { min: 1 });
  const m = integerOption(stage, 'minAfterDequeue', options.minAfterDequeue, { min: 0 });
  const seed =
    options.seed === undefined ? randomSeed(stage) : integerOption(stage, 'seed', options.seed, { min: 0 });
  // Construct once now so that a bad capacity/minAfterDequeue pair fails here, not at first pull.
  new EagerShuffleQueue<E>(capacity, m, seed, name, stage, initial);
  const stream = queueBatcher(
    examples,
    stage,
    name,
    capacity,
    () => new EagerShuffleQueue<E>(capacity, m, seed, name, stage, initial),
    o,
    (size) => Math.max(0, size - m) / (capacity - m),
  );
  return Object.assign(stream, { seed });
}

function queueBatcher<E extends Example>(
  examples: Source<E>,
  stage: string,
  name: string,
  capacity: number,
  makeQueue: () => QueueBase<E>,
  o: CommonOptions,
  fraction?: (size: number) => number,
): Stream<Batch<E>> {
  const upstream = Stream.from(examples, 'examples', { stage, parameter: 'examples' });
  return new Stream<Batch<E>>(
    (counters) => {
      // Number dtypes are fixed per run by the option or by the first batch.
      const numberDTypes = new Map(Object.entries(o.dtypes));
      const take = async (q: QueueBase<E>) =>
        stack(
          await (o.allowSmaller ? q.dequeueUpTo(o.batchSize) : q.dequeueMany(o.batchSize)),
          stage,
          numberDTypes,
        );
      return new QueueStageIterator(
        () => upstream[Symbol.asyncIterator](),
        makeQueue(),
        take,
        counters,
        o.numThreads,
      );
    },
    { name, capacity, fraction, upstreams: [upstream as Stream<unknown>] },
  );
}
