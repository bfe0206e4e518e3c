import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import {
  type ErrorPolicy,
  type ErrorPolicyOptions,
  errorPolicyOption,
  handleElementError,
} from '../core/error-policy.js';
import { InputError, InvalidArgumentError, invalidArgument } from '../core/errors.js';
import { CounterRng, randomSeed } from '../core/rng.js';
import type { StageCounters } from '../core/stats.js';
import { returnsUpstreamFirst, type SeededStream, type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption, optionalIntegerOption } from '../core/validate.js';
import {
  describeDeath,
  elementKey,
  MapError,
  MapTimeoutError,
  mapError,
  reviveError,
  WorkerDiedError,
} from './error-info.js';
import { siblingModule, spawnWorker } from './spawn-worker.js';
import { packChunk, unpackChunk } from './transfer.js';
import type { Reply, Task, WorkerSetup, WorkerStatus } from './worker.js';

export { MapError, MapTimeoutError, WorkerDiedError } from './error-info.js';

/** A per-example function: the element, its own random source, and its index in the stream. */
export type ExampleFn<T, R> = (value: T, rng: CounterRng, index: number) => R | Promise<R>;

/**
 * Where the workers find the function: a module URL (or path) and the name of its export
 * (robust, works with imports), or a self-contained function whose source is sent to the workers
 * (it must not use variables from its surrounding scope; it may `await import(...)`).
 */
export type ParallelFn<T, R> = ExampleFn<T, R> | { module: string | URL; export?: string };

export interface MapParallelOptions extends ErrorPolicyOptions {
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
  /**
   * Most milliseconds one element may run (default: no limit). A worker past it (a chunk gets
   * timeoutMs per element) is terminated and replaced, and the element fails with MapTimeoutError.
   * Inline (numThreads 0) only an asynchronous call can be abandoned; a synchronous loop cannot.
   */
  timeoutMs?: number;
  /**
   * JS heap limit of each worker in MiB (`resourceLimits.maxOldGenerationSizeMb`; default: Node's,
   * the same as the main thread's). A worker past it dies with ERR_WORKER_OUT_OF_MEMORY, not the
   * process. It bounds the JS heap only: typed arrays live outside it.
   */
  maxWorkerHeapMB?: number;
}

const STAGE = 'mapParallel';

/**
 * Runs `fn` on every element on worker threads, moving typed arrays as transferables (never
 * serialized per element). The element with index i gets `new CounterRng(seed, name, i)`, so results
 * are identical for any numThreads (0 included) and any timing. At most `capacity` elements are
 * pulled and not yet consumed.
 *
 * Failures of one element: the function throws (MapError naming the element's key, the thrown error
 * as `cause`); its worker dies (process.exit, a crash, out of memory: the worker is replaced and the
 * element retried once alone, then WorkerDiedError); it runs past `timeoutMs` (MapTimeoutError);
 * it cannot be sent to a worker (it holds a function: MapError, the DataCloneError as `cause`).
 * `onError: 'raise'` (default) ends the stream with that error; `skip`/`warn` drop the element,
 * keep the order of the others and count it in the stats under the class name the function threw
 * when it is an InputError (`DecodeError`, or the user's own subclass of it, whether thrown inline
 * or in a worker), else `MapError`, `WorkerDiedError` or `MapTimeoutError`, with the element's key.
 * Always raised, whatever the policy: a function that cannot be loaded (InvalidArgumentError,
 * parameter `fn`), and an InvalidArgumentError thrown by the function (a bad option is a bug in the
 * program, not bad data), as the MapError naming the element.
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
  const policy = errorPolicyOption(STAGE, o);
  const timeoutMs = optionalIntegerOption(STAGE, 'timeoutMs', o.timeoutMs, { min: 1 }) ?? Infinity;
  const maxWorkerHeapMB = optionalIntegerOption(STAGE, 'maxWorkerHeapMB', o.maxWorkerHeapMB, { min: 8 });
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
        ? returnsUpstreamFirst(upstream, (it) => inline(it, fn, setup, counters, policy, timeoutMs))
        : new ParallelIterator<T, R>(upstream, setup, counters, policy, {
            numThreads,
            capacity,
            chunkSize,
            deterministic,
            timeoutMs,
            maxWorkerHeapMB,
          }),
    { name, capacity, upstreams: [upstream as Stream<unknown>] },
  );
  return Object.assign(stream, { seed });
}

function toUrl(path: string): string {
  return /^[a-z]+:/i.test(path) ? path : new URL(path, `file://${process.cwd()}/`).href;
}

/**
 * A failed element: `error` is what `raise` throws (it names the element); `reason` is what the
 * skip is counted under: the InputError the function threw (a DecodeError...), else `error`.
 */
interface Failure {
  error: MapError;
  reason: InputError;
}

function functionFailure(key: string, thrown: unknown): Failure {
  const error = mapError(STAGE, key, thrown);
  return { error, reason: thrown instanceof InputError ? thrown : error };
}

function timeoutFailure(key: string, ms: number, what: string): Failure {
  const error = new MapTimeoutError(
    `${STAGE}: element ${JSON.stringify(key)} ran longer than timeoutMs (${ms} ms); ${what}`,
    { key, stage: STAGE, parameter: 'timeoutMs' },
  );
  return { error, reason: error };
}

/**
 * Raises the failure under `raise`; otherwise counts the element as read and skipped (or raises past
 * maxErrors). An element that raises is not counted as read: read = yielded + skipped always.
 *
 * A bad option is a mistake in the program, not in the data (the function passed `channels: 2` to
 * decodeImage): skipping it would drop every element, so an InvalidArgumentError raises under every
 * policy, as what `raise` gives: the MapError naming the element, with the InvalidArgumentError
 * (parameter, stage) as its `cause`.
 */
function applyPolicy(policy: ErrorPolicy, counters: StageCounters, failure: Failure): void {
  if (policy.onError === 'raise' || failure.reason instanceof InvalidArgumentError) throw failure.error;
  handleElementError(policy, counters, failure.reason, failure.error.key, STAGE);
}

/** The function cannot run at all: raised at once whatever the policy, inline or on workers. */
function loadError(setup: WorkerSetup, what: string, cause: unknown): InvalidArgumentError {
  const where = setup.module ? ` (${setup.module}, export ${setup.exportName ?? 'default'})` : '';
  return new InvalidArgumentError(`${STAGE}: ${what}${where}: ${describeDeath(cause)}`, {
    parameter: 'fn',
    stage: STAGE,
    cause,
  });
}

/** The module's function, as the workers load it (the same TypeError when the export is not one). */
async function importFunction<T, R>(setup: WorkerSetup): Promise<ExampleFn<T, R>> {
  const mod = (await import(setup.module!)) as Record<string, unknown>;
  const f = mod[setup.exportName ?? 'default'];
  if (typeof f !== 'function') {
    throw new TypeError(
      `${STAGE}: Expected a function export ${setup.exportName ?? 'default'} in ${setup.module}`,
    );
  }
  return f as ExampleFn<T, R>;
}

/** The value of `call`, or a timeout failure once it has run `ms` (an asynchronous call only). */
async function withTimeout<R>(call: R | Promise<R>, ms: number, onTimeout: () => Error): Promise<R> {
  if (ms === Infinity || !(call instanceof Promise)) return call;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** numThreads 0: the same function, random keys and error policy, on this thread. */
async function* inline<T, R>(
  upstream: AsyncIterator<T>,
  fn: ParallelFn<T, R>,
  setup: WorkerSetup,
  counters: StageCounters,
  policy: ErrorPolicy,
  timeoutMs: number,
): AsyncGenerator<R> {
  let index = 0;
  try {
    let f: ExampleFn<T, R>;
    if (typeof fn === 'function') f = fn;
    else {
      try {
        f = await importFunction<T, R>(setup);
      } catch (cause) {
        throw loadError(setup, 'the function cannot be loaded', cause);
      }
    }
    for (;;) {
      const r = await upstream.next();
      if (r.done) break;
      const value = r.value;
      counters.start();
      counters.elementsIn++;
      const i = index++;
      let result: R;
      try {
        const rng = new CounterRng(setup.seed, setup.op, i, Math.floor(i / 0x100000000));
        result = await withTimeout(f(value, rng, i), timeoutMs, () => new TimedOut());
      } catch (err) {
        const key = elementKey(value, i);
        applyPolicy(
          policy,
          counters,
          err instanceof TimedOut
            ? timeoutFailure(key, timeoutMs, 'inline (numThreads 0) the call was abandoned, not stopped')
            : functionFailure(key, err),
        );
        continue;
      }
      counters.read++;
      counters.elementsOut++;
      yield result;
    }
  } finally {
    counters.done = true;
    await upstream.return?.();
  }
}

class TimedOut extends Error {}

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
  /** The function is loaded: the running chunk's time limit counts from then. */
  ready: boolean;
  dead: boolean;
  /** Why it stopped, from its 'error' event (the death is handled on 'exit', after its last messages). */
  error: unknown;
  /** The running chunk's time limit. */
  timer: NodeJS.Timeout | null;
  /** Settles once the worker has loaded the function (or failed to) or has exited. */
  loaded: Promise<void>;
}

/**
 * How long stopping waits for a worker that is still loading the function before terminating it:
 * Node leaks the file descriptors of a worker's in-flight file reads when it is terminated.
 */
const LOAD_GRACE_MS = 1000;

type Result<R> = { ok: true; value: R } | { ok: false; failure: Failure };

interface PoolSettings {
  numThreads: number;
  capacity: number;
  chunkSize: number;
  deterministic: boolean;
  timeoutMs: number;
  maxWorkerHeapMB: number | undefined;
}

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
  /** The one teardown: a return() racing a next() that is tearing down waits for the same workers. */
  private finishing?: Promise<void>;
  /** An upstream error, delivered after the elements pulled before it. */
  private failure: { error: unknown } | null = null;
  /** The function cannot run at all (it failed to load): raised at once, whatever the policy. */
  private fatal: Error | null = null;
  private wake: (() => void) | null = null;
  /** Terminations under way of workers that died or timed out. */
  private readonly stopping: Promise<unknown>[] = [];

  constructor(
    upstream: Stream<T>,
    private readonly setup: WorkerSetup,
    private readonly counters: StageCounters,
    private readonly policy: ErrorPolicy,
    private readonly settings: PoolSettings,
  ) {
    this.upstream = upstream[Symbol.asyncIterator]();
    counters.sizeProbe = () => this.nextIndex - this.delivered;
  }

  async next(): Promise<IteratorResult<R>> {
    if (this.finished) return { value: undefined, done: true };
    this.counters.start();
    this.staff();
    for (;;) {
      if (this.finished) return { value: undefined, done: true };
      if (this.fatal) {
        const error = this.fatal;
        await this.finish();
        throw error;
      }
      const index = this.settings.deterministic ? this.delivered : this.completionOrder[0];
      const result = index === undefined ? undefined : this.results.get(index);
      if (index !== undefined && result) {
        this.results.delete(index);
        if (!this.settings.deterministic) this.completionOrder.shift();
        this.delivered++;
        this.pump();
        if (result.ok) {
          this.counters.read++;
          this.counters.elementsOut++;
          return { value: result.value, done: false };
        }
        try {
          applyPolicy(this.policy, this.counters, result.failure);
        } catch (error) {
          await this.finish();
          throw error;
        }
        continue; // skipped: the next element, in order
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
      this.pump();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<R>> {
    await this.finish();
    return { value: undefined, done: true };
  }

  /** Runs fill() in the background; an error there (a bug) ends the stream instead of going unhandled. */
  private pump(): void {
    this.fill().catch((error: unknown) => this.onUnexpected(error));
  }

  private onUnexpected(error: unknown): void {
    this.fatal ??= error instanceof Error ? error : new Error(String(error));
    this.signal();
  }

  /** Pulls upstream elements into chunks and dispatches them while fewer than `capacity` are outstanding. */
  private async fill(): Promise<void> {
    if (this.pulling || this.upstreamDone || this.finished || this.failure) return;
    const { capacity, chunkSize } = this.settings;
    this.pulling = true;
    try {
      while (
        !this.finished &&
        !this.upstreamDone &&
        !this.failure &&
        this.nextIndex - this.delivered < capacity
      ) {
        const first = this.nextIndex;
        const values: T[] = [];
        while (values.length < chunkSize && this.nextIndex - this.delivered < capacity) {
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

  /**
   * Starts workers up to numThreads (at the first pull, and to replace dead ones when work comes).
   * False when none can be started: the stream then ends with why (it runs in event handlers too,
   * where a throw would crash the process).
   */
  private staff(): boolean {
    try {
      while (this.pool.length < this.settings.numThreads) this.pool.push(this.spawn());
    } catch (error) {
      this.onUnexpected(error);
    }
    return this.pool.length > 0;
  }

  private dispatch(job: Job<T>): void {
    if (!this.staff()) return;
    let target = this.pool[0];
    for (const w of this.pool) if (w.jobs.size < target.jobs.size) target = w;
    try {
      // The originals stay here for a retry; the worker gets a packed copy of their arrays.
      const chunk = packChunk(job.values);
      target.worker.postMessage({ seq: job.seq, first: job.first, chunk } satisfies Task, chunk.buffers);
    } catch (cause) {
      this.unsendable(job, cause);
      return;
    }
    // Registered only once sent: a chunk that never left must not wait for a reply.
    job.attempts++;
    this.jobs.set(job.seq, job);
    target.jobs.add(job.seq);
    this.armTimer(target);
  }

  /**
   * A chunk that cannot be sent (an element holding a function, a Symbol, a detached array: a
   * DataCloneError): each element is sent alone, so that only those that cannot be sent fail, each
   * by its key, under the policy like any other failure.
   */
  private unsendable(job: Job<T>, cause: unknown): void {
    if (job.values.length > 1) {
      for (const [j, value] of job.values.entries()) {
        this.dispatch({ seq: this.nextSeq++, first: job.first + j, values: [value], attempts: job.attempts });
      }
      return;
    }
    const index = job.first;
    const key = elementKey(job.values[0], index);
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const message = `${STAGE}: element ${JSON.stringify(key)} cannot be sent to a worker: ${what}`;
    const error = new MapError(message, { key, stage: STAGE, parameter: 'source', cause });
    this.settle(index, { ok: false, failure: { error, reason: error } });
    this.signal();
  }

  private spawn(): PoolWorker {
    const { maxWorkerHeapMB } = this.settings;
    const worker = spawnWorker(siblingModule(import.meta.url, 'worker'), {
      workerData: this.setup,
      resourceLimits: maxWorkerHeapMB === undefined ? undefined : { maxOldGenerationSizeMb: maxWorkerHeapMB },
    });
    let loaded = (): void => {};
    const pw: PoolWorker = {
      worker,
      jobs: new Set(),
      ready: false,
      dead: false,
      error: null,
      timer: null,
      loaded: new Promise<void>((resolve) => (loaded = resolve)),
    };
    worker.on('message', (message: Reply | WorkerStatus) => {
      if ('status' in message) {
        loaded();
        this.onStatus(pw, message);
      } else this.onReply(pw, message);
    });
    worker.on('error', (err) => {
      pw.error ??= err;
    });
    worker.on('exit', (code) => {
      loaded();
      if (this.finished || pw.dead) return;
      const cause = pw.error ?? new Error(`worker exited with code ${code}`);
      if (pw.ready) this.onDeath(pw, cause, false);
      else this.onFatal(cause, 'a worker stopped before it could load the function');
    });
    return pw;
  }

  private onStatus(pw: PoolWorker, message: WorkerStatus): void {
    if (message.status === 'failed') {
      this.onFatal(reviveError(message.error), 'the workers cannot load the function');
      return;
    }
    pw.ready = true;
    this.armTimer(pw);
  }

  private onFatal(cause: unknown, what: string): void {
    this.fatal ??= loadError(this.setup, what, cause);
    this.signal();
  }

  private onReply(pw: PoolWorker, reply: Reply): void {
    pw.jobs.delete(reply.seq);
    this.disarmTimer(pw);
    this.armTimer(pw);
    const job = this.jobs.get(reply.seq);
    if (!job) return;
    this.jobs.delete(reply.seq);
    // Results of a multi-element chunk get their own buffers (a shuffle pool keeping a few must not
    // pin whole chunks); a chunk of one element already owns its buffer.
    const values = unpackChunk(reply.chunk, { copy: reply.errors.length > 1 });
    reply.errors.forEach((error, k) => {
      const index = job.first + k;
      this.settle(
        index,
        error
          ? { ok: false, failure: functionFailure(elementKey(job.values[k], index), reviveError(error)) }
          : { ok: true, value: values[k] as R },
      );
    });
    this.signal();
  }

  private settle(index: number, result: Result<R>): void {
    this.results.set(index, result);
    if (!this.settings.deterministic) this.completionOrder.push(index);
  }

  /** Starts the time limit of the worker's running chunk (its oldest), once it is ready. */
  private armTimer(pw: PoolWorker): void {
    const { timeoutMs } = this.settings;
    if (timeoutMs === Infinity || !pw.ready || pw.dead || pw.timer || this.finished) return;
    const seq = pw.jobs.values().next().value;
    const job = seq === undefined ? undefined : this.jobs.get(seq);
    if (!job) return;
    pw.timer = setTimeout(() => {
      pw.timer = null;
      this.onDeath(pw, null, true);
    }, timeoutMs * job.values.length);
  }

  private disarmTimer(pw: PoolWorker): void {
    if (pw.timer) clearTimeout(pw.timer);
    pw.timer = null;
  }

  /**
   * A worker died (crash, process.exit, out of memory) or ran past its time limit: replace it. Its
   * oldest unanswered chunk was the one running (workers run chunks in order); chunks queued behind
   * it are re-sent as they were. The running chunk is retried once, split into single elements so
   * that a second death names the element that caused it; an element that kills a worker twice is
   * reported, and so is a single element that times out (a retry would only wait as long again).
   */
  private onDeath(pw: PoolWorker, cause: unknown, timedOut: boolean): void {
    if (pw.dead || this.finished) return;
    pw.dead = true;
    this.disarmTimer(pw);
    // Replaced when work is next dispatched (none may come: the stream may be about to end).
    const i = this.pool.indexOf(pw);
    if (i >= 0) this.pool.splice(i, 1);
    const orphans = [...pw.jobs].map((seq) => this.jobs.get(seq)).filter((j): j is Job<T> => j !== undefined);
    pw.jobs.clear();
    this.stopping.push(pw.worker.terminate());
    orphans.forEach((job, k) => {
      this.jobs.delete(job.seq);
      if (k > 0) {
        job.attempts--; // it never ran; dispatch counts it again
        this.dispatch(job);
      } else if (job.attempts < 2 && !(timedOut && job.values.length === 1)) {
        for (const [j, value] of job.values.entries()) {
          this.dispatch({ seq: this.nextSeq++, first: job.first + j, values: [value], attempts: 1 });
        }
      } else {
        const index = job.first;
        const key = elementKey(job.values[0], index);
        if (timedOut) {
          this.settle(index, {
            ok: false,
            failure: timeoutFailure(key, this.settings.timeoutMs, 'its worker was terminated and replaced'),
          });
        } else {
          const error = new WorkerDiedError(
            `${STAGE}: a worker died twice while processing element ${JSON.stringify(key)}: ${describeDeath(cause)}`,
            { key, stage: STAGE, cause },
          );
          this.settle(index, { ok: false, failure: { error, reason: error } });
        }
      }
    });
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private finish(): Promise<void> {
    this.finishing ??= this.doFinish();
    return this.finishing;
  }

  private async doFinish(): Promise<void> {
    this.finished = true;
    this.counters.done = true;
    this.signal(); // a next() waiting for a result ends now
    for (const pw of this.pool) this.disarmTimer(pw);
    await Promise.allSettled([...this.pool.map((pw) => stopWorker(pw)), ...this.stopping]);
    this.jobs.clear();
    this.results.clear();
    await this.upstream.return?.();
  }
}

/** Terminates a worker, first letting one that is still loading the function finish loading (briefly). */
async function stopWorker(pw: PoolWorker): Promise<void> {
  if (!pw.ready) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pw.loaded, new Promise((resolve) => (timer = setTimeout(resolve, LOAD_GRACE_MS)))]);
    clearTimeout(timer);
  }
  await pw.worker.terminate();
}
