import { ShufflePool, type ShufflePoolState } from '../batch/shuffle-pool.js';

export interface ShuffleReplayOptions {
  minAfterDequeue: number;
  seed: number;
  /** The queue's name (its random stream's op name): `shuffle_batch` for shuffleBatch. */
  name: string;
  /** Elements the input holds in all (finite epochs); unset: unbounded. */
  total?: number;
}

/** Where a shuffle queue stands after some picks, over stream indices instead of elements. */
export interface ShuffleReplayState {
  /** Stream indices in the pool, in pool order. */
  pool: number[];
  rngDrawn: number;
  /** The next stream index the queue takes in. */
  nextIndex: number;
  /** Picks made so far (elements handed out, in batch order). */
  picks: number;
}

/**
 * Replays shuffleBatch's picks over stream indices alone (no data): the picks depend only on the
 * input order and the seed (EagerShuffleQueue), so the pool after `k` picks is the same whatever the
 * consumer's pace was. Advances incrementally, so a stream can ask after every batch at O(batch) cost.
 */
export class ShuffleReplay {
  private readonly pool: ShufflePool<number>;
  private nextIndex: number;
  private made: number;

  constructor(
    private readonly o: ShuffleReplayOptions,
    from: ShuffleReplayState = { pool: [], rngDrawn: 0, nextIndex: 0, picks: 0 },
  ) {
    const initial: ShufflePoolState<number> = { items: from.pool, rngDrawn: from.rngDrawn };
    this.pool = new ShufflePool(o.minAfterDequeue, o.seed, o.name, initial);
    this.nextIndex = from.nextIndex;
    this.made = from.picks;
  }

  /** Picks replayed so far. */
  get picks(): number {
    return this.made;
  }

  /** Advances to `picks` picks (never backwards) and returns the state there. */
  advanceTo(picks: number): ShuffleReplayState {
    const total = this.o.total ?? Number.POSITIVE_INFINITY;
    while (this.made < picks) {
      if (this.nextIndex < total) {
        if (this.pool.add(this.nextIndex++) !== undefined) this.made++;
      } else if (this.pool.size > 0) {
        this.pool.pick(); // the input ended: the pool drains in random order
        this.made++;
      } else {
        break;
      }
    }
    const { items, rngDrawn } = this.pool.state();
    return { pool: items, rngDrawn, nextIndex: this.nextIndex, picks: this.made };
  }
}
