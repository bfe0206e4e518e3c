import { FIFOQueue } from '../core/fifo-queue.js';
import type { QueueBase } from '../core/queue-base.js';
import { QueueStageIterator } from '../core/queue-stage.js';
import { randomSeed } from '../core/rng.js';
import { type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';
import { EagerShuffleQueue } from './eager-shuffle-queue.js';
import { interleave } from './interleave.js';
import { type Batch, type Example, stack } from './stack.js';

export interface BatchOptions {
  batchSize: number;
  /** Upstream pulls kept in flight (TF's enqueue threads); order stays the upstream's. Default 1. */
  numThreads?: number;
  /** Elements the batching queue holds ahead of the consumer (default 32). */
  capacity?: number;
  /** At the end, deliver the last partial batch instead of dropping it (default false). */
  allowSmallerFinalBatch?: boolean;
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

export interface ShuffledStream<T> extends Stream<T> {
  readonly seed: number;
}

/** TF's `tf.train.batch`: a FIFO queue of `capacity` examples, dequeued `batchSize` at a time. */
export function batch<E extends Example>(examples: Source<E>, options: BatchOptions): Stream<Batch<E>> {
  const o = batchOptions('batch', options);
  const capacity = integerOption('batch', 'capacity', options.capacity, { min: 1, defaultValue: 32 });
  return queueBatcher(examples, 'batch', capacity, () => new FIFOQueue<E>({ capacity, name: 'batch' }), o);
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
  const o = batchOptions('shuffleBatch', options);
  const capacity = integerOption('shuffleBatch', 'capacity', options.capacity, { min: 1 });
  const m = integerOption('shuffleBatch', 'minAfterDequeue', options.minAfterDequeue, { min: 0 });
  const seed =
    options.seed === undefined
      ? randomSeed()
      : integerOption('shuffleBatch', 'seed', options.seed, { min: 0 });
  const stream = queueBatcher(
    examples,
    'shuffle_batch',
    capacity,
    () => new EagerShuffleQueue<E>(capacity, m, seed),
    o,
    (size) => Math.max(0, size - m) / (capacity - m),
  );
  // Construct once now so that a bad capacity/minAfterDequeue pair fails here, not at first pull.
  new EagerShuffleQueue<E>(capacity, m, seed);
  return Object.assign(stream, { seed });
}

/** TF's `batch_join`: several example streams (e.g. one reader each) into one batch stream. */
export function batchJoin<E extends Example>(
  sources: readonly Source<E>[],
  options: BatchOptions & JoinOptions,
): Stream<Batch<E>> {
  return batch(interleave(sources, options), options);
}

/** TF's `shuffle_batch_join`. */
export function shuffleBatchJoin<E extends Example>(
  sources: readonly Source<E>[],
  options: ShuffleBatchOptions & JoinOptions,
): ShuffledStream<Batch<E>> {
  return shuffleBatch(interleave(sources, options), options);
}

function batchOptions(stage: string, options: BatchOptions) {
  const o = objectOption(stage, 'options', options) as Partial<BatchOptions>;
  return {
    batchSize: integerOption(stage, 'batchSize', o.batchSize, { min: 1 }),
    numThreads: integerOption(stage, 'numThreads', o.numThreads, { min: 1, defaultValue: 1 }),
    allowSmaller: booleanOption(stage, 'allowSmallerFinalBatch', o.allowSmallerFinalBatch, false),
  };
}

function queueBatcher<E extends Example>(
  examples: Source<E>,
  name: string,
  capacity: number,
  makeQueue: () => QueueBase<E>,
  o: { batchSize: number; numThreads: number; allowSmaller: boolean },
  fraction?: (size: number) => number,
): Stream<Batch<E>> {
  const upstream = Stream.from(examples, 'examples');
  const take = async (q: QueueBase<E>) =>
    stack(await (o.allowSmaller ? q.dequeueUpTo(o.batchSize) : q.dequeueMany(o.batchSize)), name);
  return new Stream<Batch<E>>(
    (counters) =>
      new QueueStageIterator(
        () => upstream[Symbol.asyncIterator](),
        makeQueue(),
        take,
        counters,
        o.numThreads,
      ),
    { name, capacity, fraction, upstreams: [upstream as Stream<unknown>] },
  );
}
