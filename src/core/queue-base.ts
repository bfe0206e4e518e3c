import type { Observable } from 'rxjs';
import { Deque } from './deque.js';
import { CancelledError, invalidArgument, OutOfRangeError } from './errors.js';
import { StageCounters, type StageStats, sampled } from './stats.js';
import { integerOption } from './validate.js';

/**
 * TensorFlow's queue kernel semantics (tf1-input-reference §6.3), shared by every queue:
 * - enqueues block while the queue is full and are served strictly in arrival order; `enqueueMany`
 *   inserts element by element as space frees;
 * - `dequeueMany(n)` is incremental: the head request collects elements one at a time whenever any
 *   are available, freeing capacity for producers, so `capacity < minAfterDequeue + n` cannot deadlock;
 * - `close()` is queued behind pending enqueues; `close({ cancelPendingEnqueues: true })` closes now
 *   and fails pending enqueues with `CancelledError`;
 * - on a closed queue, a dequeue that cannot be satisfied puts its partial collection back and fails
 *   with `OutOfRangeError`; `dequeueUpTo` instead returns what remains, if anything.
 * Subclasses choose which element leaves (`take`) and how many may leave (`available`).
 */

export interface QueueOptions {
  /** Most elements the queue holds. */
  capacity: number;
  /** Name used in messages and stats. */
  name?: string;
}

export interface CloseOptions {
  /** Fail pending enqueues with CancelledError instead of letting them complete first. */
  cancelPendingEnqueues?: boolean;
}

interface PendingEnqueue<T> {
  items: readonly T[];
  index: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PendingDequeue<T> {
  n: number;
  upTo: boolean;
  collected: T[];
  resolve: (items: T[]) => void;
  reject: (err: unknown) => void;
}

export abstract class QueueBase<T> {
  readonly capacity: number;
  readonly name: string;
  protected readonly counters: StageCounters;
  private readonly enqueues = new Deque<PendingEnqueue<T>>();
  private readonly dequeues = new Deque<PendingDequeue<T>>();
  private closeRequested = false;
  private closedFlag = false;
  private failure: { error: unknown } | null = null;
  private closeWaiters: (() => void)[] = [];
  private serving = false;

  protected constructor(kind: string, options: QueueOptions, fraction?: (size: number) => number) {
    this.capacity = integerOption(kind, 'capacity', options?.capacity, { min: 1 });
    this.name = options.name ?? kind;
    this.counters = new StageCounters(this.name, this.capacity, fraction);
  }

  /** Elements in the queue now. */
  abstract size(): number;
  /** Adds one element (space is guaranteed). */
  protected abstract put(item: T): void;
  /** Removes one element (only called while `available() > 0`). */
  protected abstract take(): T;
  /** Returns a failed dequeue's partial collection. */
  protected abstract putBack(items: T[]): void;
  /** How many elements may leave now. */
  protected available(): number {
    return this.size();
  }
  /** The queue kind in TF's messages (`FIFOQueue`, `RandomShuffleQueue`). */
  protected abstract get kind(): string;

  get isClosed(): boolean {
    return this.closedFlag;
  }

  stats(): StageStats {
    this.counters.size = this.size();
    // Done once closed and drained (or failed); a closed queue may still hold elements.
    this.counters.done = this.failure !== null || (this.closedFlag && this.size() === 0);
    return this.counters.snapshot();
  }

  /** `stats()` now and every `intervalMs` (default 500 ms), on a timer that never holds the process. */
  get stats$(): Observable<StageStats> {
    return sampled(() => this.stats());
  }

  /** Adds an element now if that needs no waiting; the hot path of runners. */
  tryEnqueue(item: T): boolean {
    if (this.closeRequested || this.enqueues.length > 0 || this.size() >= this.capacity) return false;
    this.insert(item);
    if (this.dequeues.length > 0) this.serve();
    return true;
  }

  enqueue(item: T): Promise<void> {
    if (this.tryEnqueue(item)) return Promise.resolve();
    return this.enqueueMany([item]);
  }

  enqueueMany(items: readonly T[]): Promise<void> {
    if (this.closeRequested) return Promise.reject(this.closedError());
    if (items.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.enqueues.push({ items, index: 0, resolve, reject });
      this.serve();
    });
  }

  async dequeue(): Promise<T> {
    const [item] = await this.dequeueMany(1);
    return item;
  }

  dequeueMany(n: number): Promise<T[]> {
    return this.requestDequeue(n, false);
  }

  /** Like dequeueMany, but after close returns the 1..n-1 remaining elements instead of failing. */
  dequeueUpTo(n: number): Promise<T[]> {
    return this.requestDequeue(n, true);
  }

  /** Closes the queue; resolves once it is closed (after pending enqueues, unless cancelled). */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    if (options.cancelPendingEnqueues) {
      const cancelled = new CancelledError('Enqueue operation was cancelled', { stage: this.name });
      for (const e of this.enqueues.clear()) e.reject(cancelled);
    }
    this.closeRequested = true;
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.serve();
    return done;
  }

  /**
   * Closes the queue because its producer failed: pending and later dequeues fail with `error`
   * right away (the consumer learns of the failure at once, not after draining the buffer).
   */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.closeRequested = true;
    for (const e of this.enqueues.clear()) e.reject(error);
    this.serve();
  }

  /** Cancels everything: pending enqueues and dequeues fail with CancelledError; elements are dropped. */
  cancel(): void {
    this.fail(new CancelledError(`${this.kind} '${this.name}' was cancelled`, { stage: this.name }));
  }

  private requestDequeue(n: number, upTo: boolean): Promise<T[]> {
    if (!Number.isInteger(n) || n < 0) {
      return Promise.reject(invalidArgument('n', 'a non-negative integer', n, `${this.kind} '${this.name}'`));
    }
    if (n === 0) return Promise.resolve([]);
    if (this.failure) return Promise.reject(this.failure.error);
    // Fast path: nothing queued ahead of us and enough elements available.
    if (this.dequeues.length === 0 && this.available() >= n) {
      const items = new Array<T>(n);
      for (let i = 0; i < n; i++) items[i] = this.removeOne();
      if (this.enqueues.length > 0 || this.closeRequested) this.serve();
      return Promise.resolve(items);
    }
    return new Promise((resolve, reject) => {
      this.dequeues.push({ n, upTo, collected: [], resolve, reject });
      this.serve();
    });
  }

  private insert(item: T): void {
    this.put(item);
    this.counters.elementsIn++;
  }

  private removeOne(): T {
    const item = this.take();
    this.counters.elementsOut++;
    return item;
  }

  /** Moves elements from pending enqueues to pending dequeues until neither can progress. */
  private serve(): void {
    if (this.serving) return;
    this.serving = true;
    try {
      this.counters.start();
      for (;;) {
        let progress = false;
        while (this.enqueues.length > 0 && this.size() < this.capacity) {
          const e = this.enqueues.peek()!;
          this.insert(e.items[e.index++]);
          progress = true;
          if (e.index === e.items.length) {
            this.enqueues.shift();
            e.resolve();
          }
        }
        if (this.failure) {
          const error = this.failure.error;
          for (const d of this.dequeues.clear()) d.reject(error);
        }
        while (this.dequeues.length > 0) {
          const d = this.dequeues.peek()!;
          while (d.collected.length < d.n && this.available() > 0) {
            d.collected.push(this.removeOne());
            progress = true;
          }
          if (d.collected.length < d.n) break;
          this.dequeues.shift();
          d.resolve(d.collected);
        }
        if (!progress) break;
      }
      if (this.closeRequested && this.enqueues.length === 0 && !this.closedFlag) {
        this.closedFlag = true;
        for (const w of this.closeWaiters.splice(0)) w();
        // available() may have grown (a shuffle queue drains fully once closed).
        this.serving = false;
        this.serve();
        return;
      }
      if (this.closedFlag) this.failUnsatisfiable();
    } finally {
      this.serving = false;
    }
  }

  /** On a closed queue every pending dequeue is now as full as it will ever be. */
  private failUnsatisfiable(): void {
    while (this.dequeues.length > 0) {
      const d = this.dequeues.peek()!;
      // An earlier failed request may have put elements back: they serve the next one, as in TF.
      while (d.collected.length < d.n && this.available() > 0) d.collected.push(this.removeOne());
      this.dequeues.shift();
      if (d.collected.length === d.n || (d.upTo && d.collected.length > 0)) {
        d.resolve(d.collected);
        continue;
      }
      const current = this.size() + d.collected.length;
      if (d.collected.length > 0) {
        this.putBack(d.collected);
        this.counters.elementsOut -= d.collected.length;
      }
      d.reject(
        new OutOfRangeError(
          `${this.kind} '${this.name}' is closed and has insufficient elements (requested ${d.n}, current size ${current})`,
          { stage: this.name },
        ),
      );
    }
  }

  private closedError(): CancelledError {
    return new CancelledError(`${this.kind} '${this.name}' is closed.`, { stage: this.name });
  }
}
