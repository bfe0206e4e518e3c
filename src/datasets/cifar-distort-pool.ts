import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { InputError } from '../core/errors.js';
import type { DistortCifarBatchOptions } from '../image/distort-cifar-batch.js';
import { siblingModule, spawnWorker } from '../parallel/spawn-worker.js';
import type { DistortJob, DistortReply, DistortWorkerSetup } from './cifar-distort-worker.js';

interface Pending {
  /** Called as soon as the reply is taken (synchronously inside `poll`). */
  done?: (out: Float32Array) => void;
  resolve(out: Float32Array): void;
  reject(err: Error): void;
  worker: number;
}

/**
 * Worker threads that distort batches of records lying in the shared kernel memory (a dataset cache
 * or the shuffle pool's slots), so that the main thread only reads and shuffles: a job names its
 * records by address (no record bytes cross threads) and the output array moves back without a copy. The kernel is pure: which worker
 * runs a batch never changes it. A worker that fails or dies fails every job in flight, and the
 * stream with them (the work has no bad inputs to skip: records are checked when read).
 */
export class CifarDistortPool {
  private readonly workers: Worker[] = [];
  /** Each worker's reply port: polled synchronously by `poll`, else delivered by the event loop. */
  private readonly replies: MessagePort[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(
    memory: unknown,
    /** Byte address of each worker's argument region. */
    regions: number[],
    maxBatch: number,
    options: DistortCifarBatchOptions,
    private readonly stage: string,
  ) {
    try {
      for (const [w, region] of regions.entries()) this.spawn(w, memory, region, maxBatch, options);
    } catch (err) {
      // A later worker that cannot start: the ones started must not keep the process alive.
      for (const worker of this.workers) void worker.terminate();
      throw err;
    }
  }

  private spawn(
    w: number,
    memory: unknown,
    region: number,
    maxBatch: number,
    options: DistortCifarBatchOptions,
  ): void {
    const { port1, port2 } = new MessageChannel();
    const setup: DistortWorkerSetup = { memory, region, maxBatch, options, replies: port2 };
    const worker = spawnWorker(siblingModule(import.meta.url, 'cifar-distort-worker'), {
      workerData: setup,
      transferList: [port2],
    });
    port1.on('message', (reply: DistortReply) => this.settle(reply));
    port1.unref(); // the worker keeps the process alive while it runs, not its idle port
    this.replies.push(port1);
    worker.on('error', (err) => this.fail(w, err));
    worker.on('exit', (code) => this.fail(w, new Error(`exited with code ${code}`)));
    // Referenced only while it has jobs: a pipeline dropped without return() lets the process exit.
    worker.unref();
    this.workers.push(worker);
    this.load.push(0);
  }

  /**
   * Distorts the records at `addresses` (keyed by `indices`) into `out` if given, else a new array;
   * `done` is called with it as soon as the reply is taken (inside `poll`, synchronously).
   */
  distort(
    addresses: Int32Array,
    indices: Int32Array,
    out?: Float32Array,
    done?: (out: Float32Array) => void,
  ): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const w = this.load.indexOf(Math.min(...this.load)); // the least busy worker
    const seq = this.seq++;
    const job: DistortJob = { seq, addresses, indices, ...(out ? { out: out.buffer as ArrayBuffer } : {}) };
    if (this.load[w]++ === 0) this.workers[w].ref();
    const result = new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(seq, { done, resolve, reject, worker: w });
      try {
        this.workers[w].postMessage(job, out ? [out.buffer as ArrayBuffer] : []);
      } catch (err) {
        // Not sent: nothing will come back for it.
        this.pending.delete(seq);
        if (--this.load[w] === 0) this.workers[w].unref();
        reject(err);
      }
    });
    // A stream that stops early never awaits its later jobs: their failure is no unhandled rejection.
    result.catch(() => undefined);
    return result;
  }

  /**
   * Takes the replies already sent, without waiting for the event loop: a pipeline that never
   * blocks (all in memory) runs in one long chain of microtasks, in which replies would otherwise
   * only arrive once it waits for one.
   */
  poll(): void {
    for (const port of this.replies) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
        this.settle(m.message as DistortReply);
    }
  }

  /** Jobs sent and not back. */
  get inFlight(): number {
    return this.pending.size;
  }

  private settle(reply: DistortReply): void {
    const p = this.pending.get(reply.seq);
    if (!p) return;
    this.pending.delete(reply.seq);
    if (--this.load[p.worker] === 0) this.workers[p.worker].unref();
    if ('error' in reply)
      p.reject(
        new InputError(`${this.stage}: a distortion worker failed: ${reply.error}`, { stage: this.stage }),
      );
    else {
      const out = new Float32Array(reply.out);
      p.done?.(out);
      p.resolve(out);
    }
  }

  private fail(worker: number, err: Error): void {
    if (this.closed) return;
    this.failure ??= new InputError(`${this.stage}: distortion worker ${worker} died: ${err.message}`, {
      stage: this.stage,
      cause: err,
    });
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    // Nothing is awaited from the workers left: they must not keep the process alive.
    for (const [w, worker] of this.workers.entries()) {
      this.load[w] = 0;
      worker.unref();
    }
  }

  /** Stops the workers (jobs in flight are dropped). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values())
      p.reject(new InputError(`${this.stage}: closed`, { stage: this.stage }));
    this.pending.clear();
    this.failure ??= new InputError(`${this.stage}: closed`, { stage: this.stage });
    for (const port of this.replies) port.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
