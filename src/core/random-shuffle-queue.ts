import { invalidArgument } from './errors.js';
import { QueueBase, type QueueOptions } from './queue-base.js';
import { CounterRng, randomSeed } from './rng.js';
import { integerOption } from './validate.js';

export interface RandomShuffleQueueOptions extends QueueOptions {
  /** While open, elements leave only while more than this many are queued. */
  minAfterDequeue?: number;
  /** Seed of the element choice; random (and readable as `.seed`) when unset. */
  seed?: number;
}

/**
 * TF's RandomShuffleQueue: each dequeued element is chosen uniformly among all queued ones and
 * removed by swapping with the last; while open, only `size - minAfterDequeue` may leave; once
 * closed it drains completely. The n-th choice uses draw n of the (seed, op) stream, so a given
 * sequence of operations always gives the same order.
 */
export class RandomShuffleQueue<T> extends QueueBase<T> {
  readonly minAfterDequeue: number;
  readonly seed: number;
  private readonly items: T[] = [];
  private readonly rng: CounterRng;

  constructor(options: RandomShuffleQueueOptions) {
    const m = integerOption('RandomShuffleQueue', 'minAfterDequeue', options?.minAfterDequeue, {
      min: 0,
      defaultValue: 0,
    });
    super('RandomShuffleQueue', options, (size) => Math.max(0, size - m) / Math.max(1, options.capacity - m));
    if (m >= this.capacity) {
      throw invalidArgument(
        'minAfterDequeue',
        `an integer below capacity (${this.capacity})`,
        m,
        'RandomShuffleQueue',
      );
    }
    this.minAfterDequeue = m;
    this.seed =
      options.seed === undefined
        ? randomSeed('RandomShuffleQueue')
        : integerOption('RandomShuffleQueue', 'seed', options.seed, { min: 0 });
    this.rng = new CounterRng(this.seed, 'random_shuffle_queue');
  }

  protected get kind(): string {
    return 'RandomShuffleQueue';
  }

  size(): number {
    return this.items.length;
  }

  protected override available(): number {
    return this.isClosed ? this.items.length : Math.max(0, this.items.length - this.minAfterDequeue);
  }

  protected put(item: T): void {
    this.items.push(item);
  }

  protected take(): T {
    const i = this.rng.below(this.items.length);
    const item = this.items[i];
    this.items[i] = this.items[this.items.length - 1];
    this.items.pop();
    return item;
  }

  protected putBack(items: T[]): void {
    for (const item of items) this.items.push(item);
  }
}
