import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError, invalidArgument } from '../core/errors.js';
import { CounterRng, randomSeed } from '../core/rng.js';
import type { StageCounters } from '../core/stats.js';
import { returnsUpstreamFirst, type SeededStream, type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';
import { type ErrorInfo, reviveError } from './error-info.js';
import { packChunk, unpackChunk } from './transfer.js';
import type { Reply, Task, WorkerSetup } from './worker.js';

/** A per-example function: the element, its own random source, and its index in the stream. */
export type ExampleFn<T, R> = (value: T, rng: CounterRng, index: number) => R | Promise<R>;

/**
 * Where the workers find the function: a module URL (or path) and the name of its export
 * (robust, works with imports), or a self-contained function whose source is sent to the workers
 * (it must not use variables from its surrounding scope; it may `await import(...)`).
 */
export type ParallelFn<T, R> = ExampleFn<T, R> | { module: string | URL; export?: string };

export interface MapParallelOptions {
  /** Worker threads (default: the machine's available parallelism). 0 runs inline on this thread. */
  numThreads?: number;
  /** Keep the input order (default true); false hands results out as they complete. */
  deterministic?: boolean;
  /** Elements pulled but not yet consumed, in flight or finished (default 4 chunks per thread). */
  capacity?: number;
  /**
   * Elements sent to a worker per message (default 1). Raise it (e.g. 64) when the per-element work
   * is only microseconds, as for CIFAR distortion, so that messaging does not dominate.
   */
  chunkSize?: number;
  /** Seed of the per-element random sources (random when unset; see the stream's `seed`). */
  seed?: number;
  /** Name of the op in random keys and stats (default 'map_parallel'). */
  name?: string;
  /**
   * Move result arrays that own their whole buffer back from the worker instead of copying them
   * (default false). Only for functions that return fresh arrays: a moved array is emptied on the
   * worker's side, so a function that keeps it (a lookup table, a reused output) would see it empty.
   */
  transferResults?: boolean;
}

const STAGE = 'mapParallel';

/** An error thrown by the per-example function, naming the element it failed on. */
export class MapError extends InputError {}

/**
 * Runs `fn` on every element on worker threads, moving typed arrays as transferables (never
 * serialized per element). The element with index i gets `new CounterRng(seed, name, i)`, so results
 * are identical for any numThreads (0 included) and any timing. At most `capacity` elements are
 * pulled and not yet consumed. A function error reaches the consumer as a MapError naming the
 * element's key; a worker that dies is replaced and its elements retried once, then reported.
 */
export function mapParallel<T, R>(
  source: Source<T>,
  fn: ParallelFn<T, R>,
  options: MapParallelOptions = {},
): SeededStream<R> {
  const o = objectOption(STAGE, 'options', options) as MapParallelOptions;
  const numThreads = integerOption(STAGE, 'numThreads', o.numThreads, {
    min: 0,
    defaultValue: availableParallelism(),
  });
  const deterministic = booleanOption(STAGE, 'deterministic', o.deterministic, true);
  const chunkSize = integerOption(STAGE, 'chunkSize', o.chunkSize, { min: 1, defaultValue: 1 });
  const capacity = integerOption(STAGE, 'capacity', o.capacity, {
    min: 1,
    defaultValue: Math.max(4, 4 * numThreads) * chunkSize,
  });
  const seed = o.seed === undefined ? randomSeed(STAGE) : integerOption(STAGE, 'seed', o.seed, { min: 0 });
  const name = o.name ?? 'map_parallel';
  const transferResults = booleanOption(STAGE, 'transferResults', o.transferResults, false);
  let setup: WorkerSetup;
  if (typeof fn === 'function') setup = { source: fn.toString(), seed, op: name, transferResults };
  else if (fn && typeof fn === 'object' && (typeof fn.module === 'string' || fn.module instanceof URL)) {
    setup = {
      module: String(fn.module instanceof URL ? fn.module.href : toUrl(fn.module)),
      exportName: fn.export,
      seed,
      op: name,
      transferResults,
    };
  } else throw invalidArgument('fn', 'a function or { module, export }', fn, STAGE);
  const upstream = Stream.from(source, 'source', { stage: STAGE, parameter: 'source' });
  const stream = new Stream<R>(
    (counters) =>
      numThreads === 0
        ? returnsUpstreamFirst(upstream, (it) => inline(it, fn, setup, counters))
        : new ParallelIterator<T, R>(
            upstream,
            setup,
            numThreads,
            capacity,
            chunkSize,
            deterministic,
            counters,
          ),
    { name, capacity, upstreams: [upstream as Stream<unknown>] },
  );
  return Object.assign(stream, { seed });
}

function toUrl(path: string): string {
  return /^[a-z]+:/i.test(path) ? path : new URL(path, `file://${process.cwd()}/`).href;
}

function keyOf(value: unknown, index: number): string {
  const key = (value as { key?: unknown } | null)?.key;
  return typeof key === 'string' ? key : `#${index}`;
}

function mapError(value: unknown, index: number, error: ErrorInfo): MapError {
  const key = keyOf(value, index);
  const err = new MapError(
    `${STAGE}: the function failed on element ${JSON.stringify(key)}: ${error.name}: ${error.message}`,
    {
      key,
      stage: STAGE,
    },
  );
  if (error.stack) err.stack = `${err.name}: ${err.message}\n  caused by ${error.stack}`;
  (err as { cause?: unknown }).cause = reviveError(error);
  return err;
}

/** numThreads 0: the same function and random keys, on this thread. */
async function* inline<T, R>(
  upstream: AsyncIterator<T>,
  fn: ParallelFn<T, R>,
  setup: WorkerSetup,
  counters: StageCounters,
): AsyncGenerator<R> {
  let f: ExampleFn<T, R>;
  if (typeof fn === 'function') f = fn;
  else {
    const mod = (await import(setup.module!)) as Record<string, ExampleFn<T, R>>;
    f = mod[setup.exportName ?? 'default'];
    if (typeof f !== 'function')
      throw invalidArgument(
        'fn',
        `a module exporting function ${setup.exportName ?? 'default'}`,
        setup.module,
        STAGE,
      );
  }
  let index = 0;
  try {
    for (;;) {
      const r = await upstream.next();
      if (r.done) break;
      const value = r.value;
      counters.start();
      counters.elementsIn++;
      const i = index++;
      let result: R;
      try {
        result = await f(value, new CounterRng(setup.seed, setup.op, i, Math.floor(i / 0x100000000)), i);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const wrapped = mapError(value, i, e);
        (wrapped as { cause?: unknown }).cause = err;
        throw wrapped;
      }
      counters.elementsOut++;
      yield result;
    }
  } finally {
    counters.done = true;
    await upstream.return?.();
  }
}

/** A chunk of consecutive elements sent to one worker in one message. */
interface Job<T> {
  seq: number;
  first: number;
  values: T[];
  attempts: number;
}

interface PoolWorker {
  worker: Worker;
  /** Chunks sent and not answered, oldest first (the oldest is the one running). */
  jobs: Set<number>;
  dead: boolean;
}

type Result<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** The worker pool of one run: pulls ahead up to `capacity`, dispatches chunks, reorders, recovers. */
class ParallelIterator<T, R> implements AsyncIterator<R> {
  private readonly upstream: AsyncIterator<T>;
  private readonly pool: PoolWorker[] = [];
  private readonly jobs = new Map<number, Job<T>>();
  /** Finished elements by index, until handed out. */
  private readonly results = new Map<number, Result<R>>();
  private readonly completionOrder: number[] = [];
  private nextSeq = 0;
  private nextIndex = 0;
  private delivered = 0;
  private upstreamDone = false;
  private pulling = false;
  private finished = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  constructor(
    upstream: Stream<T>,
    private readonly setup: WorkerSetup,
    private readonly numThreads: number,
    private readonly capacity: number,
    private readonly chunkSize: number,
    private readonly deterministic: boolean,
    private readonly counters: StageCounters,
  ) {
    this.upstream = upstream[Symbol.asyncIterator]();
    counters.sizeProbe = () => this.nextIndex - this.delivered;
  }

  async next(): Promise<IteratorResult<R>> {
    if (this.finished) return { value: undefined, done: true };
    this.counters.start();
    if (this.pool.length === 0) for (let i = 0; i < this.numThreads; i++) this.pool.push(this.spawn());
    for (;;) {
      if (this.finished) return { value: undefined, done: true };
      const index = this.deterministic ? this.delivered : this.completionOrder[0];
      const result = index === undefined ? undefined : this.results.get(index);
      if (index !== undefined && result) {
        this.results.delete(index);
        if (!this.deterministic) this.completionOrder.shift();
        this.delivered++;
        this.counters.elementsOut++;
        void this.fill();
        if (!result.ok) {
          await this.finish();
          throw result.error;
        }
        return { value: result.value, done: false };
      }
      // An upstream error comes after every element pulled before it, whatever the thread count.
      if (this.failure && !this.pulling && this.delivered === this.nextIndex) {
        const { error } = this.failure;
        await this.finish();
        throw error;
      }
      if (this.upstreamDone && !this.pulling && this.delivered === this.nextIndex) {
        await this.finish();
        return { value: undefined, done: true };
      }
      void this.fill();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<R>> {
    await this.finish();
    return { value: undefined, done: true };
  }

  /** Pulls upstream elements into chunks and dispatches them while fewer than `capacity` are outstanding. */
  private async fill(): Promise<void> {
    if (this.pulling || this.upstreamDone || this.finished || this.failure) return;
    this.pulling = true;
    try {
      while (
        !this.finished &&
        !this.upstreamDone &&
        !this.failure &&
        this.nextIndex - this.delivered < this.capacity
      ) {
        const first = this.nextIndex;
        const values: T[] = [];
        while (values.length < this.chunkSize && this.nextIndex - this.delivered < this.capacity) {
          let r: IteratorResult<T>;
          try {
            r = await this.upstream.next();
          } catch (error) {
            this.failure ??= { error };
            break; // the elements pulled before the error still go out
          }
          if (this.finished) return;
          if (r.done) {
            this.upstreamDone = true;
            break;
          }
          values.push(r.value);
          this.nextIndex++;
          this.counters.elementsIn++;
        }
        if (values.length > 0) this.dispatch({ seq: this.nextSeq++, first, values, attempts: 0 });
      }
    } finally {
      this.pulling = false;
      this.signal();
    }
  }

  private dispatch(job: Job<T>): void {
    let target = this.pool[0];
    for (const w of this.pool) if (w.jobs.size < target.jobs.size) target = w;
    job.attempts++;
    this.jobs.set(job.seq, job);
    target.jobs.add(job.seq);
    // The originals stay here for a retry; the worker gets a packed copy of their arrays.
    const chunk = packChunk(job.values);
    target.worker.postMessage({ seq: job.seq, first: job.first, chunk } satisfies Task, chunk.buffers);
  }

  private spawn(): PoolWorker {
    const entry = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
    const worker = entry.pathname.endsWith('.ts')
      ? // Running from TypeScript sources (tests, tsx): register tsx's loader inside the worker first.
        new Worker(
          `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
          {
            eval: true,
            workerData: this.setup,
          },
        )
      : new Worker(entry, { workerData: this.setup });
    const pw: PoolWorker = { worker, jobs: new Set(), dead: false };
    worker.on('message', (reply: Reply) => this.onReply(pw, reply));
    worker.on('error', (err) => this.onDeath(pw, err));
    worker.on('exit', (code) => {
      if (!this.finished) this.onDeath(pw, new Error(`worker exited with code ${code}`));
    });
    return pw;
  }

  private onReply(pw: PoolWorker, reply: Reply): void {
    pw.jobs.delete(reply.seq);
    const job = this.jobs.get(reply.seq);
    if (!job) return;
    this.jobs.delete(reply.seq);
    // Results of a multi-element chunk get their own buffers (a shuffle pool keeping a few must not
    // pin whole chunks); a chunk of one element already owns its buffer.
    const values = unpackChunk(reply.chunk, { copy: reply.errors.length > 1 });
    reply.errors.forEach((error, k) => {
      const index = job.first + k;
      this.results.set(
        index,
        error
          ? { ok: false, error: mapError(job.values[k], index, error) }
          : { ok: true, value: values[k] as R },
      );
      if (!this.deterministic) this.completionOrder.push(index);
    });
    this.signal();
  }

  /**
   * A worker died (crash, process.exit, out of memory): replace it. Its oldest unanswered chunk was
   * the one running (workers run chunks in order); chunks queued behind it are re-sent as they were.
   * The running chunk is retried once, split into single elements so that a second death names the
   * element that caused it; an element that kills a worker twice is reported.
   */
  private onDeath(pw: PoolWorker, err: unknown): void {
    if (pw.dead || this.finished) return;
    pw.dead = true;
    const i = this.pool.indexOf(pw);
    const replacement = this.spawn();
    if (i >= 0) this.pool[i] = replacement;
    const orphans = [...pw.jobs].map((seq) => this.jobs.get(seq)).filter((j): j is Job<T> => j !== undefined);
    pw.jobs.clear();
    void pw.worker.terminate();
    orphans.forEach((job, k) => {
      this.jobs.delete(job.seq);
      if (k > 0) {
        job.attempts--; // it never ran; dispatch counts it again
        this.dispatch(job);
      } else if (job.attempts < 2) {
        for (const [j, value] of job.values.entries()) {
          this.dispatch({ seq: this.nextSeq++, first: job.first + j, values: [value], attempts: 1 });
        }
      } else {
        const index = job.first;
        const key = keyOf(job.values[0], index);
        const message = err instanceof Error ? err.message : String(err);
        this.results.set(index, {
          ok: false,
          error: new MapError(
            `${STAGE}: a worker died twice while processing element ${JSON.stringify(key)}: ${message}`,
            {
              key,
              stage: STAGE,
              cause: err,
            },
          ),
        });
        if (!this.deterministic) this.completionOrder.push(index);
      }
    });
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.counters.done = true;
    this.signal(); // a next() waiting for a result ends now
    await Promise.allSettled(this.pool.map((p) => p.worker.terminate()));
    this.jobs.clear();
    this.results.clear();
    await this.upstream.return?.();
  }
}
