import { FIFOQueue } from '../core/fifo-queue.js';
import { QueueStageIterator } from '../core/queue-stage.js';
import { type Source, Stream } from '../core/stream.js';
import { integerOption } from '../core/validate.js';

/**
 * Runs the upstream ahead of its consumer by up to `bufferSize` elements (tf.data's `prefetch`;
 * in TF1 every queue did this). Put it after the batcher so batches are ready before a step asks.
 */
export function prefetch<T>(source: Source<T>, bufferSize = 2): Stream<T> {
  const capacity = integerOption('prefetch', 'bufferSize', bufferSize, { min: 1 });
  const upstream = Stream.from(source, 'source', { stage: 'prefetch', parameter: 'source' });
  return new Stream<T>(
    (counters) =>
      new QueueStageIterator(
        () => upstream[Symbol.asyncIterator](),
        new FIFOQueue<T>({ capacity, name: 'prefetch' }),
        (q) => q.dequeue(),
        counters,
      ),
    { name: 'prefetch', capacity, upstreams: [upstream as Stream<unknown>] },
  );
}
