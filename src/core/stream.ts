import {
  Observable,
  type OperatorFunction,
  Subject,
  type Subscriber,
  type Subscription,
  type TeardownLogic,
} from 'rxjs';
import { invalidArgument } from './errors.js';
import { type PipelineReport, reportOf, StageCounters, type StageStats, sampled } from './stats.js';

/**
 * `Stream<T>`: the one stream type every stage returns. It is an RxJS `Observable<T>` *and* an
 * `AsyncIterable<T>` over a pull iterator, so backpressure is built in: nothing upstream runs unless
 * a consumer asks for the next element.
 *
 * - `for await` pulls directly.
 * - `subscribe` drives the iterator and pushes (right for synchronous consumers).
 * - `pipe(...operators)` returns another Stream that pulls upstream elements one at a time and pushes
 *   each through the RxJS operators, handing their outputs to its puller. Synchronous operators
 *   (`map`, `filter`, `take`, `scan`, `bufferCount`...) therefore hold at most what they emit; for
 *   asynchronous ones a credit window bounds how many elements may be pushed without an output.
 *
 * Streams are cold: every iteration or subscription is an independent run with its own files,
 * timers and counters, torn down by `break`, `return()` or unsubscribe.
 */

/** A stream whose randomness comes from a seed: the given one, or the random one chosen for it. */
export type SeededStream<T> = Stream<T> & { readonly seed: number };

/** What a stage accepts as input. */
export type Source<T> = Stream<T> | AsyncIterable<T> | Iterable<T>;

export interface StageInfo {
  /** Stage name used in stats, e.g. `batch`, `fixed_length_record_reader`. */
  name: string;
  /** Elements the stage may hold; Infinity for pass-through stages. */
  capacity?: number;
  /** TF-style fraction-full summary, when it is not `size / capacity`. */
  fraction?: (size: number) => number;
  /** Streams this one pulls from, for whole-pipeline stats. */
  upstreams?: readonly Stream<unknown>[];
}

/** Opens one run of a stage. `counters` belong to that run and feed `stats()`. */
export type Opener<T> = (counters: StageCounters) => AsyncIterator<T>;

/** Default credit window of `pipe`: elements pushed into operators without an output yet. */
export const DEFAULT_PIPE_WINDOW = 64;

export class Stream<T> extends Observable<T> implements AsyncIterable<T> {
  private latest: StageCounters;
  private readonly opener: Opener<T>;
  private readonly info: StageInfo;

  constructor(opener: Opener<T>, info: StageInfo) {
    // `this` cannot be named inside super()'s argument; the holder is filled right after.
    const self: { stream?: Stream<T> } = {};
    super((subscriber) => drive(self.stream![Symbol.asyncIterator](), subscriber));
    self.stream = this;
    this.opener = opener;
    this.info = info;
    this.latest = this.newCounters();
  }

  /** Wraps any iterable or async iterable (or returns a Stream as is). */
  static from<T>(
    source: Source<T>,
    name = 'source',
    context: { stage?: string; parameter?: string } = {},
  ): Stream<T> {
    if (source instanceof Stream) return source;
    if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) {
      const iterable = source as AsyncIterable<T>;
      return new Stream((counters) => countingIterator(iterable[Symbol.asyncIterator](), counters), { name });
    }
    if (source !== null && typeof source === 'object' && Symbol.iterator in source) {
      const iterable = source as Iterable<T>;
      return new Stream((counters) => countingIterator(syncToAsync(iterable[Symbol.iterator]()), counters), {
        name,
      });
    }
    throw invalidArgument(
      context.parameter ?? 'source',
      'a Stream, an AsyncIterable or an Iterable',
      source,
      context.stage ?? name,
    );
  }

  get name(): string {
    return this.info.name;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const counters = this.newCounters();
    this.latest = counters;
    return serialized(this.opener(counters));
  }

  /** This stage's stats for its latest run. */
  stageStats(): StageStats {
    return this.latest.snapshot();
  }

  /** Stats of every stage of the pipeline, sources first. */
  stats(): StageStats[] {
    const seen = new Set<Stream<unknown>>();
    const out: StageStats[] = [];
    const visit = (s: Stream<unknown>): void => {
      if (seen.has(s)) return;
      seen.add(s);
      for (const u of s.info.upstreams ?? []) visit(u);
      out.push(s.stageStats());
    };
    visit(this as Stream<unknown>);
    return out;
  }

  /**
   * What each stage read, yielded and skipped (by reason, with the first keys), for stages under an
   * error policy. For each such stage read = yielded + skipped once it has finished.
   */
  report(): PipelineReport {
    return reportOf(this.stats());
  }

  /** `stats()` now and then every `intervalMs` (default 500 ms), on an unref'd timer. */
  get stats$(): Observable<StageStats[]> {
    return sampled(() => this.stats());
  }

  statsEvery(intervalMs: number): Observable<StageStats[]> {
    return sampled(() => this.stats(), intervalMs);
  }

  /** Pulls the whole stream into an array (for tests and small data). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const x of this) out.push(x);
    return out;
  }

  /** Like `pipe`, with an explicit credit window for asynchronous operators. */
  // biome-ignore lint/suspicious/noExplicitAny: operator chains are heterogeneous.
  through<R>(options: { window?: number }, ...operators: OperatorFunction<any, any>[]): Stream<R> {
    const window = options.window ?? DEFAULT_PIPE_WINDOW;
    if (!Number.isInteger(window) || window < 1)
      throw invalidArgument('window', 'a positive integer', window, 'pipe');
    if (operators.length === 0) return this as unknown as Stream<R>;
    return new Stream<R>(
      (counters) => new OperatorIterator<T, R>(this[Symbol.asyncIterator](), operators, window, counters),
      { name: 'pipe', capacity: window, upstreams: [this as Stream<unknown>] },
    );
  }

  override pipe(): Stream<T>;
  override pipe<A>(op1: OperatorFunction<T, A>): Stream<A>;
  override pipe<A, B>(op1: OperatorFunction<T, A>, op2: OperatorFunction<A, B>): Stream<B>;
  override pipe<A, B, C>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
  ): Stream<C>;
  override pipe<A, B, C, D>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
  ): Stream<D>;
  override pipe<A, B, C, D, E>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
  ): Stream<E>;
  override pipe<A, B, C, D, E, F>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
    op6: OperatorFunction<E, F>,
  ): Stream<F>;
  override pipe(...operators: OperatorFunction<unknown, unknown>[]): Stream<unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: the overloads above carry the types; operator chains are heterogeneous.
  override pipe(...operators: OperatorFunction<any, any>[]): Stream<unknown> {
    return this.through({}, ...operators);
  }

  private newCounters(): StageCounters {
    return new StageCounters(
      this.info.name,
      this.info.capacity ?? Number.POSITIVE_INFINITY,
      this.info.fraction,
    );
  }
}

/** Drives an iterator for an RxJS subscriber; unsubscribing returns the iterator (closing its files). */
function drive<T>(iterator: AsyncIterator<T>, subscriber: Subscriber<T>): TeardownLogic {
  let stopped = false;
  void (async () => {
    try {
      while (!stopped) {
        const r = await iterator.next();
        if (stopped) return;
        if (r.done) {
          stopped = true;
          subscriber.complete();
          return;
        }
        subscriber.next(r.value);
      }
    } catch (err) {
      if (!stopped) {
        stopped = true;
        subscriber.error(err);
      }
    }
  })();
  return () => {
    if (!stopped) {
      stopped = true;
      iterator.return?.().catch(() => undefined);
    }
  };
}

/**
 * Makes an iterator safe for overlapping `next()` calls (a runner with look-ahead issues several):
 * calls are served one after another, in call order. `return()` is served immediately so that
 * cancellation never waits behind a pull.
 */
export function serialized<T>(iterator: AsyncIterator<T>): AsyncIterator<T> {
  let tail: Promise<unknown> = Promise.resolve();
  let busy = 0;
  return {
    next(): Promise<IteratorResult<T>> {
      if (busy === 0) {
        busy++;
        const p = iterator.next();
        tail = p.then(
          () => busy--,
          () => busy--,
        );
        return p;
      }
      busy++;
      const p = tail.then(() => iterator.next());
      tail = p.then(
        () => busy--,
        () => busy--,
      );
      return p;
    },
    return(value?: unknown): Promise<IteratorResult<T>> {
      return iterator.return ? iterator.return(value) : Promise.resolve({ done: true, value: undefined });
    },
  };
}

/**
 * Runs an async generator over an upstream iterator, with a `return()` that returns the upstream
 * first. An async generator's own return() waits behind a pending next(); if that next() is waiting
 * on the upstream (a filename queue with no next file yet), returning the upstream first ends the
 * wait, so `break` never hangs.
 */
export function returnsUpstreamFirst<U, T>(
  upstream: AsyncIterable<U>,
  body: (it: AsyncIterator<U>) => AsyncGenerator<T>,
): AsyncIterator<T> {
  const it = upstream[Symbol.asyncIterator]();
  const gen = body(it);
  return {
    next: () => gen.next(),
    async return(value?: unknown) {
      await it.return?.().catch(() => undefined);
      return gen.return(value as T);
    },
  };
}

/** Passes a generator's elements through, counting them in a stage's counters; closes it at the end. */
export async function* counted<T>(source: AsyncIterator<T>, counters: StageCounters): AsyncGenerator<T> {
  try {
    for (;;) {
      counters.start();
      const r = await source.next();
      if (r.done) return;
      counters.elementsIn++;
      counters.elementsOut++;
      yield r.value;
    }
  } finally {
    // Done once the source has closed too (its files, its workers): a cancelled stage whose
    // teardown is still running is not done yet.
    try {
      await source.return?.(undefined);
    } finally {
      counters.done = true;
    }
  }
}

function syncToAsync<T>(iterator: Iterator<T>): AsyncIterator<T> {
  return {
    next: async () => iterator.next(),
    return: async (value?: unknown) => {
      iterator.return?.(value);
      return { done: true, value: undefined };
    },
  };
}

function countingIterator<T>(iterator: AsyncIterator<T>, counters: StageCounters): AsyncIterator<T> {
  return {
    async next() {
      counters.start();
      const r = await iterator.next();
      if (r.done) counters.done = true;
      else {
        counters.elementsIn++;
        counters.elementsOut++;
      }
      return r;
    },
    async return(value?: unknown) {
      try {
        return iterator.return ? await iterator.return(value) : { done: true, value: undefined };
      } finally {
        counters.done = true;
      }
    },
  };
}

/**
 * Pulls upstream elements one at a time through RxJS operators. Pushes happen only inside a
 * downstream `next()`, so a slow consumer stops the upstream.
 *
 * Synchronous chains (every output so far arrived during a push: map, filter, take, scan,
 * bufferCount...) need no window: an element that produced nothing was dropped or is held by design.
 * Until the chain has proved synchronous, or once an output arrives outside a push (mergeMap over
 * promises, delay...), at most `window` pushes may be unanswered (pushes minus outputs): then the
 * stage waits for an output. Dropped elements look unanswered too, so a stall is broken by letting
 * one more element in after a wait that doubles with every such grant (1 ms, 2 ms, ... up to 1 s)
 * and never resets: grants stay rare (about log2 of the run time, then one per second of stall),
 * so the excess over the window stays small instead of growing with every slow output.
 */
class OperatorIterator<I, O> implements AsyncIterator<O> {
  private readonly input = new Subject<I>();
  private readonly outputs: O[] = [];
  private outHead = 0;
  private readonly subscription: Subscription;
  private outputEnded = false;
  private outputError: { error: unknown } | null = null;
  private upstreamDone = false;
  private finished = false;
  /** Pushes not yet answered by an output: in flight in asynchronous operators (or dropped). */
  private unanswered = 0;
  /** Wait before granting one more element while stalled; doubles per grant, never resets. */
  private backoff = 1;
  private wake: (() => void) | null = null;
  private pushing = false;
  private syncOutputs = false;
  private asyncOutputs = false;

  constructor(
    private readonly upstream: AsyncIterator<I>,
    operators: readonly OperatorFunction<unknown, unknown>[],
    private readonly window: number,
    private readonly counters: StageCounters,
  ) {
    let out: Observable<unknown> = this.input.asObservable();
    for (const op of operators) out = op(out);
    this.subscription = (out as Observable<O>).subscribe({
      next: (value) => {
        if (this.pushing) this.syncOutputs = true;
        else this.asyncOutputs = true;
        this.outputs.push(value);
        if (this.unanswered > 0) this.unanswered--;
        this.counters.size++;
        this.wake?.();
      },
      error: (error) => {
        this.outputError = { error };
        this.outputEnded = true;
        this.wake?.();
      },
      complete: () => {
        this.outputEnded = true;
        this.wake?.();
      },
    });
  }

  async next(): Promise<IteratorResult<O>> {
    this.counters.start();
    for (;;) {
      if (this.outHead < this.outputs.length) {
        const value = this.outputs[this.outHead];
        this.outputs[this.outHead++] = undefined as O;
        if (this.outHead === this.outputs.length) {
          this.outputs.length = 0;
          this.outHead = 0;
        }
        this.counters.size--;
        this.counters.elementsOut++;
        return { value, done: false };
      }
      if (this.finished) return { value: undefined, done: true };
      if (this.outputEnded) {
        await this.finish();
        if (this.outputError) throw this.outputError.error;
        return { value: undefined, done: true };
      }
      const provedSynchronous = this.syncOutputs && !this.asyncOutputs;
      if (!this.upstreamDone && (provedSynchronous || this.unanswered < this.window)) {
        let r: IteratorResult<I>;
        try {
          r = await this.upstream.next();
        } catch (err) {
          await this.finish();
          throw err;
        }
        if (this.finished) return { value: undefined, done: true };
        if (r.done) {
          this.upstreamDone = true;
          this.input.complete();
        } else {
          this.unanswered++;
          this.counters.elementsIn++;
          this.pushing = true;
          try {
            this.input.next(r.value);
          } finally {
            this.pushing = false;
          }
        }
        continue;
      }
      // Waiting on asynchronous operators.
      const gotOutput = await this.waitForOutput(this.upstreamDone ? undefined : this.backoff);
      if (!gotOutput && !this.upstreamDone) {
        this.unanswered = this.window - 1;
        this.backoff = Math.min(this.backoff * 2, 1000);
      }
    }
  }

  async return(): Promise<IteratorResult<O>> {
    await this.finish();
    return { value: undefined, done: true };
  }

  private waitForOutput(timeoutMs: number | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        this.wake = null;
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.wake = null;
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.counters.done = true;
    this.subscription.unsubscribe();
    this.wake?.();
    if (!this.upstreamDone) {
      this.upstreamDone = true;
      await this.upstream.return?.();
    }
  }
}
