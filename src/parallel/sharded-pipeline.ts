import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { interleave } from '../batch/interleave.js';
import { Deque } from '../core/deque.js';
import { InputError, invalidArgument } from '../core/errors.js';
import { type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';
import { reviveError } from './error-info.js';
import type { ShardFactory, ShardReply, ShardRequest, ShardSetup } from './shard-worker.js';
import { siblingModule, spawnWorker } from './spawn-worker.js';
import { unpackChunk } from './transfer.js';

export interface ShardedPipelineOptions {
  /** How many independent pipelines the work is split into (fixed: it decides the output). */
  numShards: number;
  /** Worker threads running the shards (default min(numShards, cores)); 0 runs them all inline. */
  numThreads?: number;
  /** Elements requested ahead from each shard (default 2). */
  prefetch?: number;
  /** Passed to the factory in every shard (structured-cloneable). */
  args?: unknown;
  /**
   * Move output arrays that own their whole buffer from the worker instead of copying them (default
   * false): only for pipelines that emit fresh arrays (batchers do), since a moved array is emptied.
   */
  transferResults?: boolean;
}

const STAGE = 'shardedPipeline';

/**
 * Runs `numShards` copies of a whole pipeline (read → augment → shuffle → batch, say) built by a
 * factory `(shard, numShards, args) => Source`, each on a worker thread, and interleaves their
 * outputs round-robin. This is TF's batch_join with one reader per thread, made deterministic: the
 * output depends on `numShards`, the factory and its seeds, never on `numThreads` (0 runs the same
 * shards inline) or timing. Unlike mapParallel, the main thread only receives finished elements
 * (whole batches), so the work scales with threads. Each element moves between threads without a
 * copy of its arrays. A worker that dies fails the stream with an InputError naming its shards.
 */
export function shardedPipeline<T>(
  factory: { module: string | URL; export?: string },
  options: ShardedPipelineOptions,
): Stream<T> {
  const o = objectOption(STAGE, 'options', options) as Partial<ShardedPipelineOptions>;
  if (
    !factory ||
    typeof factory !== 'object' ||
    !(typeof factory.module === 'string' || factory.module instanceof URL)
  ) {
    throw invalidArgument('factory', '{ module, export }', factory, STAGE);
  }
  const numShards = integerOption(STAGE, 'numShards', o.numShards, { min: 1 });
  const numThreads = integerOption(STAGE, 'numThreads', o.numThreads, {
    min: 0,
    defaultValue: Math.min(numShards, availableParallelism()),
  });
  const prefetch = integerOption(STAGE, 'prefetch', o.prefetch, { min: 1, defaultValue: 2 });
  const transferResults = booleanOption(STAGE, 'transferResults', o.transferResults, false);
  const module =
    factory.module instanceof URL
      ? factory.module.href
      : new URL(factory.module, `file://${process.cwd()}/`).href;
  const exportName = factory.export;
  const shards = Array.from({ length: numShards }, (_, s) => s);

  if (numThreads === 0) {
    const lanes = shards.map((shard) =>
      Stream.from<T>(
        {
          async *[Symbol.asyncIterator]() {
            const mod = (await import(module)) as Record<string, ShardFactory<T>>;
            const make = mod[exportName ?? 'default'];
            if (typeof make !== 'function')
              throw invalidArgument(
                'factory',
                `a module exporting function ${exportName ?? 'default'}`,
                module,
                STAGE,
              );
            try {
              yield* Stream.from(await make(shard, numShards, o.args));
            } catch (err) {
              throw shardError(shard, err); // the same error as from a worker
            }
          },
        },
        `shard_${shard}`,
      ),
    );
    return interleave(lanes);
  }

  return new Stream<T>(
    (counters) => {
      const pool = new ShardPool<T>(
        module,
        exportName,
        numShards,
        Math.min(numThreads, numShards),
        prefetch,
        o.args,
        transferResults,
      );
      const merged = interleave(pool.lanes as Source<T>[])[Symbol.asyncIterator]();
      return {
        async next() {
          counters.start();
          let r: IteratorResult<T>;
          try {
            r = await merged.next();
          } catch (err) {
            // A failed shard ends the run: stop every worker, or the process could not exit.
            counters.done = true;
            await pool.close();
            throw err;
          }
          if (r.done) {
            counters.done = true;
            await pool.close();
          } else {
            counters.elementsIn++;
            counters.elementsOut++;
          }
          return r;
        },
        async return() {
          counters.done = true;
          // Close the pool first: it ends every lane, so lanes waiting on a quiet worker cannot hold
          // up the return of the merge.
          await pool.close();
          await merged.return?.();
          return { value: undefined, done: true };
        },
      };
    },
    { name: 'sharded_pipeline', capacity: numShards * prefetch },
  );
}

/**
 * A shard's error, the same whether the shard ran inline or on a worker: an InputError keeps its
 * class and context (file, offset, key...) with the shard named in its message; any other error is
 * wrapped in an InputError whose cause it is.
 */
function shardError(shard: number, err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const message = `${STAGE}: shard ${shard} failed: ${e.name}: ${e.message}`;
  if (e instanceof InputError) {
    // Keep the class and its file, offset and key; say which shard.
    e.message = message;
    return e;
  }
  return new InputError(message, { stage: STAGE, cause: e });
}

/** One shard's stream of elements arriving from its worker. */
class ShardLane<T> implements AsyncIterable<T> {
  readonly buffer = new Deque<T>();
  outstanding = 0;
  exhausted = false;
  error: unknown = null;
  wake: (() => void) | null = null;

  constructor(
    private readonly request: () => void,
    private readonly prefetch: number,
  ) {}

  signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      // Elements that arrived before an error come first (replies of a shard are ordered).
      if (this.buffer.length > 0) {
        yield this.buffer.shift() as T;
        continue;
      }
      if (this.error) throw this.error;
      if (this.exhausted && this.outstanding === 0) return;
      while (!this.exhausted && this.outstanding + this.buffer.length < this.prefetch) {
        this.outstanding++;
        this.request();
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** The workers of one run and the lanes of their shards. */
class ShardPool<T> {
  readonly lanes: ShardLane<T>[] = [];
  private readonly workers: Worker[] = [];
  private closing: Promise<void> | null = null;

  constructor(
    module: string,
    exportName: string | undefined,
    numShards: number,
    numThreads: number,
    prefetch: number,
    args: unknown,
    transferResults: boolean,
  ) {
    for (let w = 0; w < numThreads; w++) {
      const shards = Array.from({ length: numShards }, (_, s) => s).filter((s) => s % numThreads === w);
      const setup: ShardSetup = { module, exportName, shards, numShards, args, transferResults };
      const worker = spawnWorker(siblingModule(import.meta.url, 'shard-worker'), { workerData: setup });
      this.workers.push(worker);
      for (const shard of shards) {
        this.lanes[shard] = new ShardLane<T>(
          () => worker.postMessage({ type: 'pull', shard } satisfies ShardRequest),
          prefetch,
        );
      }
      worker.on('message', (reply: ShardReply) => this.onReply(reply));
      const died = (err: unknown) => {
        if (this.closing) return;
        const message = err instanceof Error ? err.message : String(err);
        for (const shard of shards) {
          const lane = this.lanes[shard];
          lane.error ??= new InputError(
            `${STAGE}: the worker running shards [${shards.join(', ')}] died: ${message}`,
            {
              stage: STAGE,
              cause: err,
            },
          );
          lane.signal();
        }
      };
      worker.on('error', died);
      worker.on('exit', (code) => died(new Error(`worker exited with code ${code}`)));
    }
  }

  private onReply(reply: ShardReply): void {
    if (reply.type === 'closed') return;
    const lane = this.lanes[reply.shard];
    lane.outstanding--;
    if (reply.type === 'item') lane.buffer.push(unpackChunk(reply.chunk)[0] as T);
    else if (reply.type === 'done') lane.exhausted = true;
    else {
      lane.error ??= shardError(reply.shard, reviveError(reply.error));
    }
    lane.signal();
  }

  /** Ends every lane, lets each worker return its pipelines (closing their files), then terminates it. */
  close(): Promise<void> {
    if (!this.closing) {
      for (const lane of this.lanes) {
        lane.exhausted = true;
        lane.outstanding = 0;
        lane.signal();
      }
    }
    this.closing ??= Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              void w.terminate().then(() => resolve());
            };
            const timer = setTimeout(done, 1000);
            timer.unref();
            w.on('message', (m: ShardReply) => {
              if (m.type === 'closed') done();
            });
            w.once('exit', done);
            w.postMessage({ type: 'close' } satisfies ShardRequest);
          }),
      ),
    ).then(() => undefined);
    return this.closing;
  }
}
