import { Deque } from './deque.js';
import { QueueBase, type QueueOptions } from './queue-base.js';

/** TF's FIFOQueue: elements leave in the order they arrived. */
export class FIFOQueue<T> extends QueueBase<T> {
  private readonly items = new Deque<T>();

  constructor(options: QueueOptions) {
    super('FIFOQueue', options);
  }

  protected get kind(): string {
    return 'FIFOQueue';
  }

  size(): number {
    return this.items.length;
  }

  protected put(item: T): void {
    this.items.push(item);
  }

  protected take(): T {
    return this.items.shift() as T;
  }

  protected putBack(items: T[]): void {
    this.items.unshiftAll(items);
  }
}
