/**
 * The worker side of mapParallel: loads the user's function once (reporting `ready` or `failed`),
 * then answers each chunk { seq, first, values } with one outcome per element, transferring typed
 * arrays back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CounterRng } from '../core/rng.js';
import { type ErrorInfo, errorInfo } from './error-info.js';
import { type PackedChunk, packChunk, unpackChunk } from './transfer.js';

export interface WorkerSetup {
  /** Module URL and export name, or the source of a self-contained function. */
  module?: string;
  exportName?: string;
  source?: string;
  seed: number;
  op: string;
  /** Move result arrays that own their buffers instead of copying them (see MapParallelOptions). */
  transferResults?: boolean;
}

/** A chunk of consecutive elements: element k is number first + k. */
export interface Task {
  seq: number;
  first: number;
  chunk: PackedChunk;
}

export type { ErrorInfo } from './error-info.js';

/** Per element: failed (with the error) or not; the values of those that did not fail are packed. */
export interface Reply {
  seq: number;
  errors: (ErrorInfo | null)[];
  chunk: PackedChunk;
}

/** Sent once the function is loaded (element timeouts start counting then), or when it cannot be. */
export type WorkerStatus = { status: 'ready' } | { status: 'failed'; error: ErrorInfo };

type Fn = (value: unknown, rng: CounterRng, index: number) => unknown;

async function loadFunction(setup: WorkerSetup): Promise<Fn> {
  if (setup.source !== undefined) {
    // A self-contained function sent as source text (it cannot close over the caller's variables).
    // tsx/esbuild keep function names through a `__name` helper that exists only where the source
    // was compiled: provide a no-op one.
    return new Function('__name', `return (${setup.source});`)((f: unknown) => f) as Fn;
  }
  const mod = (await import(setup.module!)) as Record<string, unknown>;
  const fn = mod[setup.exportName ?? 'default'];
  if (typeof fn !== 'function') {
    throw new TypeError(
      `mapParallel: Expected a function export ${setup.exportName ?? 'default'} in ${setup.module}`,
    );
  }
  return fn as Fn;
}

const setup = workerData as WorkerSetup;
const port = parentPort!;
const ready = loadFunction(setup);
ready.then(
  () => port.postMessage({ status: 'ready' } satisfies WorkerStatus),
  (err: unknown) => port.postMessage({ status: 'failed', error: errorInfo(err) } satisfies WorkerStatus),
);

/** Tasks run one at a time, in arrival order, so the oldest unanswered task is the one running. */
let chain: Promise<void> = Promise.resolve();
port.on('message', (task: Task) => {
  chain = chain.then(() => run(task)).catch((err: unknown) => fail(task, err));
});

/** A reply that could not be sent at all: every element of the task fails with `err`. */
function fail(task: Task, err: unknown): void {
  const error = errorInfo(err);
  const chunk = packChunk([]);
  const errors = task.chunk.values.map(() => error);
  port.postMessage({ seq: task.seq, errors, chunk } satisfies Reply, chunk.buffers);
}

async function run(task: Task): Promise<void> {
  // Inputs are views into the task's buffer: no copy on this side.
  const values = unpackChunk(task.chunk);
  const errors: (ErrorInfo | null)[] = [];
  const results: unknown[] = [];
  let fn: Fn | null = null;
  try {
    fn = await ready;
  } catch (err) {
    const error = errorInfo(err);
    for (let k = 0; k < values.length; k++) errors.push(error);
  }
  if (fn) {
    for (let k = 0; k < values.length; k++) {
      const index = task.first + k;
      try {
        // The element's randomness depends on (seed, op, index) only, whichever worker runs it.
        const rng = new CounterRng(setup.seed, setup.op, index, Math.floor(index / 0x100000000));
        results.push(await fn(values[k], rng, index));
        errors.push(null);
      } catch (err) {
        results.push(null);
        errors.push(errorInfo(err));
      }
    }
  }
  try {
    const chunk = packChunk(results, { moveOwned: setup.transferResults === true });
    port.postMessage({ seq: task.seq, errors, chunk } satisfies Reply, chunk.buffers);
  } catch {
    // A result that cannot cross threads (a Symbol, a function...): find which, so that only those
    // elements fail (a copy per element: this path is rare).
    const sendable = results.map((r, k) => {
      if (errors[k]) return null;
      try {
        structuredClone(packChunk([r]).values);
        return r;
      } catch (err) {
        errors[k] = errorInfo(err);
        return null;
      }
    });
    const chunk = packChunk(sendable, { moveOwned: setup.transferResults === true });
    port.postMessage({ seq: task.seq, errors, chunk } satisfies Reply, chunk.buffers);
  }
}
