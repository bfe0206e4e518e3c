import { CounterRng } from '../core/rng.js';

/** What a shuffle pool holds at a point of its run: enough to continue it exactly. */
export interface ShufflePoolState<T> {
  /** The pooled items, in pool order (picks index into it). */
  items: T[];
  /** uint32s the pick generator has drawn (CounterRng.drawn). */
  rngDrawn: number;
}

/**
 * The pick rule of shuffleBatch's queue, on its own so that a checkpoint can replay it over stream
 * indices alone (shufflePositionAfter) with the very code the queue runs. Once more than
 * `minAfterDequeue` items are pooled, each added item triggers one uniform pick among the pool;
 * the picked slot is refilled with the last item (swap-remove), so order matters and is kept.
 */
export class ShufflePool<T> {
  readonly items: T[];
  private readonly rng: CounterRng;

  constructor(
    readonly minAfterDequeue: number,
    seed: number,
    name: string,
    initial?: ShufflePoolState<T>,
  ) {
    this.rng = new CounterRng(seed, name);
    this.items = initial ? [...initial.items] : [];
    if (initial) this.rng.seek(initial.rngDrawn);
  }

  get size(): number {
    return this.items.length;
  }

  /** Pools `item`; returns the item picked because of it, if the pool is now above its minimum. */
  add(item: T): T | undefined {
    this.items.push(item);
    return this.items.length > this.minAfterDequeue ? this.pick() : undefined;
  }

  /** A uniformly chosen pooled item, removed (the pool must not be empty). */
  pick(): T {
    const pool = this.items;
    const i = this.rng.below(pool.length);
    const item = pool[i];
    pool[i] = pool[pool.length - 1];
    pool.pop();
    return item;
  }

  state(): ShufflePoolState<T> {
    return { items: [...this.items], rngDrawn: this.rng.drawn };
  }
}
