import { invalidArgument } from '../core/errors.js';
import { FIFOQueue } from '../core/fifo-queue.js';
import { QueueStageIterator } from '../core/queue-stage.js';
import { CounterRng, permutation, randomSeed } from '../core/rng.js';
import { type SeededStream, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption, optionalIntegerOption } from '../core/validate.js';

export interface StringInputProducerOptions {
  /** Epochs to produce; unset produces forever (lazily: only as fast as readers consume). */
  numEpochs?: number;
  /** Reshuffle the list independently every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the per-epoch permutations; random when unset (see the returned stream's `seed`). */
  seed?: number;
  /** Filename queue capacity: how far the producer runs ahead of the readers (default 32). */
  capacity?: number;
  /**
   * Start inside the run instead of at its beginning (resuming a checkpoint): the `index`-th string
   * of epoch `epoch`'s order comes first. Epochs count from 0 and `numEpochs` still counts from 0.
   */
  start?: { epoch: number; index: number };
}

/** The producer's stream, with its seed (the given one, or the random one chosen). */
export type ProducerStream<T> = SeededStream<T>;

const STAGE = 'stringInputProducer';

/**
 * TF's `string_input_producer`: each epoch yields every string once, in a fresh permutation when
 * `shuffle`, through a FIFO filename queue of `capacity`. Epoch e's order is permutation(seed, e),
 * so it never depends on timing or on how many epochs were produced before.
 */
export function stringInputProducer(
  strings: readonly string[],
  options: StringInputProducerOptions = {},
): ProducerStream<string> {
  if (!Array.isArray(strings) || strings.length === 0) {
    throw invalidArgument('strings', 'a non-empty array of strings', strings, STAGE);
  }
  strings.forEach((s, i) => {
    if (typeof s !== 'string') throw invalidArgument(`strings[${i}]`, 'a string', s, STAGE);
  });
  const opts = objectOption(STAGE, 'options', options) as StringInputProducerOptions;
  const numEpochs = optionalIntegerOption(STAGE, 'numEpochs', opts.numEpochs, { min: 1 });
  const shuffle = booleanOption(STAGE, 'shuffle', opts.shuffle, true);
  const capacity = integerOption(STAGE, 'capacity', opts.capacity, { min: 1, defaultValue: 32 });
  const seed =
    opts.seed === undefined ? randomSeed(STAGE) : integerOption(STAGE, 'seed', opts.seed, { min: 0 });
  const list = [...strings];
  const start = startOption(opts.start, list.length, numEpochs);

  function* epochs(): Generator<string> {
    for (let epoch = start.epoch; numEpochs === undefined || epoch < numEpochs; epoch++) {
      const order = epochOrder(list.length, { shuffle, seed, epoch });
      for (let i = epoch === start.epoch ? start.index : 0; i < order.length; i++) yield list[order[i]];
    }
  }

  const source = Stream.from({ [Symbol.iterator]: epochs }, 'input_producer_source');
  const stream = new Stream<string>(
    (counters) =>
      new QueueStageIterator(
        () => source[Symbol.asyncIterator](),
        new FIFOQueue<string>({ capacity, name: 'input_producer' }),
        (q) => q.dequeue(),
        counters,
      ),
    { name: 'input_producer', capacity },
  );
  return Object.assign(stream, { seed });
}

/** The order of epoch `epoch`: indices into the producer's strings (identity when not shuffled). */
export function epochOrder(
  length: number,
  { shuffle, seed, epoch }: { shuffle: boolean; seed: number; epoch: number },
): Uint32Array {
  if (!shuffle) return Uint32Array.from({ length }, (_, i) => i);
  return permutation(length, new CounterRng(seed, 'string_input_producer', epoch));
}

function startOption(
  value: unknown,
  length: number,
  numEpochs: number | undefined,
): { epoch: number; index: number } {
  if (value === undefined) return { epoch: 0, index: 0 };
  const o = objectOption(STAGE, 'start', value);
  const epoch = integerOption(STAGE, 'start.epoch', o.epoch, { min: 0 });
  const index = integerOption(STAGE, 'start.index', o.index, { min: 0 });
  if (index >= length)
    throw invalidArgument('start.index', `an integer below ${length} (the strings)`, index, STAGE);
  if (numEpochs !== undefined && epoch >= numEpochs)
    throw invalidArgument('start.epoch', `an integer below numEpochs (${numEpochs})`, epoch, STAGE);
  return { epoch, index };
}
