import { Deque } from '../core/deque.js';
import { invalidArgument } from '../core/errors.js';
import { QueueBase } from '../core/queue-base.js';
import { CounterRng } from '../core/rng.js';

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
  private readonly pool: T[] = [];
  private readonly ready = new Deque<T>();
  private readonly rng: CounterRng;

  constructor(
    capacity: number,
    readonly minAfterDequeue: number,
    readonly seed: number,
    name = 'shuffle_batch',
    stage = 'shuffleBatch',
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
    this.rng = new CounterRng(seed, name);
  }

  protected get kind(): string {
    return 'RandomShuffleQueue';
  }

  size(): number {
    return this.pool.length + this.ready.length;
  }

  protected override available(): number {
    return this.isClosed ? this.size() : this.ready.length;
  }

  protected put(item: T): void {
    this.pool.push(item);
    if (this.pool.length > this.minAfterDequeue) this.ready.push(this.pick());
  }

  protected take(): T {
    return this.ready.length > 0 ? (this.ready.shift() as T) : this.pick();
  }

  protected putBack(items: T[]): void {
    this.ready.unshiftAll(items);
  }

  private pick(): T {
    const pool = this.pool;
    const i = this.rng.below(pool.length);
    const item = pool[i];
    pool[i] = pool[pool.length - 1];
    pool.pop();
    return item;
  }
}
