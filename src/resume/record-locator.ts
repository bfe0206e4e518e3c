import { invalidArgument } from '../core/errors.js';
import { epochOrder } from '../producers/string-input-producer.js';

export interface RecordLocation {
  /** Epoch of the record (from 0). */
  epoch: number;
  /** Position of its file in that epoch's order. */
  position: number;
  /** Index of its file in the original list. */
  fileIndex: number;
  file: string;
  /** Record number inside the file. */
  record: number;
}

export interface RecordLocatorOptions {
  /** Reader names, in the list order given to stringInputProducer. */
  files: readonly string[];
  /** Records in each file. */
  counts: readonly number[];
  seed: number;
  shuffle: boolean;
}

const STAGE = 'RecordLocator';

/**
 * Maps a record's position in a stringInputProducer → fixedLengthRecordReader stream (its stream
 * index) to the epoch, file and record it comes from, using the producer's own epoch orders. This is
 * what lets a checkpoint name records by index and rebuild them without replaying the stream.
 */
export class RecordLocator {
  readonly perEpoch: number;
  private readonly cache = new Map<number, Uint32Array>();

  constructor(private readonly o: RecordLocatorOptions) {
    if (o.files.length === 0 || o.files.length !== o.counts.length) {
      throw invalidArgument('counts', `one record count per file (${o.files.length})`, o.counts, STAGE);
    }
    this.perEpoch = o.counts.reduce((a, b) => a + b, 0);
    if (this.perEpoch === 0) throw invalidArgument('counts', 'at least one record', o.counts, STAGE);
  }

  /** The file order of `epoch`, as file indices. */
  order(epoch: number): Uint32Array {
    let order = this.cache.get(epoch);
    if (!order) {
      if (this.cache.size > 8) this.cache.clear();
      order = epochOrder(this.o.files.length, { shuffle: this.o.shuffle, seed: this.o.seed, epoch });
      this.cache.set(epoch, order);
    }
    return order;
  }

  locate(index: number): RecordLocation {
    if (!Number.isSafeInteger(index) || index < 0)
      throw invalidArgument('index', 'a non-negative integer', index, STAGE);
    const epoch = Math.floor(index / this.perEpoch);
    let rest = index - epoch * this.perEpoch;
    const order = this.order(epoch);
    for (let position = 0; position < order.length; position++) {
      const fileIndex = order[position];
      const count = this.o.counts[fileIndex];
      if (rest < count) return { epoch, position, fileIndex, file: this.o.files[fileIndex], record: rest };
      rest -= count;
    }
    throw new Error('unreachable: rest < perEpoch');
  }
}
