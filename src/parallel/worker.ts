/**
 * The worker side of mapParallel: loads the user's function once, then answers each chunk
 * { seq, first, values } with one outcome per element, transferring typed arrays back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CounterRng } from '../core/rng.js';
import { forTransfer } from './transfer.js';

export interface WorkerSetup {
  /** Module URL and export name, or the source of a self-contained function. */
  module?: string;
  exportName?: string;
  source?: string;
  seed: number;
  op: string;
}

/** A chunk of consecutive elements: values[k] is element number first + k. */
export interface Task {
  seq: number;
  first: number;
  values: unknown[];
}

export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: ErrorInfo };

export interface Reply {
  seq: number;
  outcomes: Outcome[];
}

type Fn = (value: unknown, rng: CounterRng, index: number) => unknown;

async function loadFunction(setup: WorkerSetup): Promise<Fn> {
  if (setup.source !== undefined) {
    // A self-contained function sent as source text (it cannot close over the caller's variables).
    return new Function(`return (${setup.source});`)() as Fn;
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

/** Tasks run one at a time, in arrival order, so the oldest unanswered task is the one running. */
let chain: Promise<void> = Promise.resolve();
port.on('message', (task: Task) => {
  chain = chain.then(() => run(task));
});

async function run(task: Task): Promise<void> {
  const outcomes: Outcome[] = [];
  const transfer: ArrayBuffer[] = [];
  let fn: Fn | null = null;
  try {
    fn = await ready;
  } catch (err) {
    const error = errorInfo(err);
    for (let k = 0; k < task.values.length; k++) outcomes.push({ ok: false, error });
  }
  if (fn) {
    for (let k = 0; k < task.values.length; k++) {
      const index = task.first + k;
      try {
        // The element's randomness depends on (seed, op, index) only, whichever worker runs it.
        const rng = new CounterRng(setup.seed, setup.op, index, Math.floor(index / 0x100000000));
        const moved = forTransfer(await fn(task.values[k], rng, index));
        transfer.push(...moved.transfer);
        outcomes.push({ ok: true, value: moved.value });
      } catch (err) {
        outcomes.push({ ok: false, error: errorInfo(err) });
      }
    }
  }
  port.postMessage({ seq: task.seq, outcomes } satisfies Reply, transfer);
}

function errorInfo(err: unknown): ErrorInfo {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message, stack: e.stack };
}
