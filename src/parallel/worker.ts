/**
 * The worker side of mapParallel: loads the user's function once, then answers
 * { seq, index, value } with { seq, ok, value | error }, transferring typed arrays back.
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

export interface Task {
  seq: number;
  index: number;
  value: unknown;
}

export type Reply =
  | { seq: number; ok: true; value: unknown }
  | { seq: number; ok: false; error: { name: string; message: string; stack?: string } };

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
  try {
    const fn = await ready;
    // The element's randomness depends on (seed, op, index) only, whichever worker runs it.
    const rng = new CounterRng(setup.seed, setup.op, task.index, Math.floor(task.index / 0x100000000));
    const result = await fn(task.value, rng, task.index);
    const { value, transfer } = forTransfer(result);
    port.postMessage({ seq: task.seq, ok: true, value } satisfies Reply, transfer);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({
      seq: task.seq,
      ok: false,
      error: { name: e.name, message: e.message, stack: e.stack },
    } satisfies Reply);
  }
}
