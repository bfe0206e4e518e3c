import { Deque } from '../core/deque.js';
import { invalidArgument } from '../core/errors.js';
import { QueueBase } from '../core/queue-base.js';
import { ShufflePool, type ShufflePoolState } from './shuffle-pool.js';

/**
 * The shuffle queue behind `shuffleBatch`. TF's RandomShuffleQueue picks when a dequeue runs, from
 * however many elements have arrived by then, so its output depends on thread timing. This queue
 * picks *eagerly*: as soon as more than `minAfterDequeue` elements are pooled, one is chosen
 * uniformly among the `minAfterDequeue + 1` and moved to a ready line. Picks therefore depend only
 * on the input order and the seed: the same seed gives the same batches whatever the consumer's
 * pace or thread count. Each pick is uniform over exactly the buffer TF guarantees as a minimum
 * (tf.data's `shuffle(minAfterDequeue + 1)`). Capacity bounds pool + ready line together; once
 * closed, the pool drains in random order.
 */
export class EagerShuffleQueue<T> extends QueueBase<T> {
  private readonly pool: ShufflePool<T>;
  private readonly ready = new Deque<T>();

  constructor(
    capacity: number,
    readonly minAfterDequeue: number,
    readonly seed: number,
    name = 'shuffle_batch',
    stage = 'shuffleBatch',
    /** A pool to start from (resuming a checkpointed pipeline), as ShufflePool.state() gave it. */
    initial?: ShufflePoolState<T>,
  ) {
    super(
      'RandomShuffleQueue',
      { capacity, name },
      (size) => Math.max(0, size - minAfterDequeue) / (capacity - minAfterDequeue),
    );
    if (minAfterDequeue >= capacity) {
      throw invalidArgument(
        'minAfterDequeue',
        `an integer below capacity (${capacity})`,
        minAfterDequeue,
        stage,
      );
    }
    if (initial && initial.items.length > minAfterDequeue) {
      throw invalidArgument(
        'initial.items',
        `at most minAfterDequeue (${minAfterDequeue}) pooled items`,
        initial.items.length,
        stage,
      );
    }
    this.pool = new ShufflePool(minAfterDequeue, seed, name, initial);
  }

  protected get kind(): string {
    return 'RandomShuffleQueue';
  }

  size(): number {
    return this.pool.size + this.ready.length;
  }

  protected override available(): number {
    return this.isClosed ? this.size() : this.ready.length;
  }

  protected put(item: T): void {
    const picked = this.pool.add(item);
    if (picked !== undefined) this.ready.push(picked);
  }

  protected take(): T {
    return this.ready.length > 0 ? (this.ready.shift() as T) : this.pool.pick();
  }

  protected putBack(items: T[]): void {
    this.ready.unshiftAll(items);
  }
}
