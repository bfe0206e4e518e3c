/**
 * The worker side of CifarDistortPool: distorts batches of records that lie in the shared kernel
 * memory (a dataset cache or a shuffle pool's slots) with its own kernel instance and argument
 * region, into the output array it was lent (or a new one), and moves the array back.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { cifarDraws, type DistortCifarBatchOptions } from '../image/distort-cifar-batch.js';
import { SharedDistortKernel } from '../wasm/distort-cifar-kernel.js';

export interface DistortWorkerSetup {
  /** The shared WebAssembly.Memory. */
  memory: unknown;
  /** Byte address of this worker's argument region. */
  region: number;
  maxBatch: number;
  options: DistortCifarBatchOptions;
  /** Where replies go (the main thread polls it). */
  replies: MessagePort;
}

export interface DistortJob {
  seq: number;
  /** Byte addresses of the batch's records, and their stream indices (their draws' keys). */
  addresses: Int32Array;
  indices: Int32Array;
  /** An output array to fill (a released batch's), or none: the worker makes one. */
  out?: ArrayBuffer;
}

export type DistortReply = { seq: number; out: ArrayBuffer } | { seq: number; error: string };

const setup = workerData as DistortWorkerSetup;
const o = setup.options;
const size = o.size ?? 24;
const per = size * size * 3;
const kernel = SharedDistortKernel.create(setup.memory as never, setup.region, setup.maxBatch, size);
const { drawAll } = cifarDraws(o);

function distort(job: DistortJob): ArrayBuffer {
  if (!kernel) throw new Error('the WebAssembly kernel cannot be instantiated in this worker');
  const n = job.addresses.length;
  const out = job.out ? new Float32Array(job.out) : new Float32Array(n * per);
  kernel.addresses.set(job.addresses);
  drawAll(job.indices, n, kernel.draws);
  kernel.distort(n, o.labelBytes ?? 1, out);
  return out.buffer as ArrayBuffer;
}

parentPort!.on('message', (job: DistortJob) => {
  let reply: DistortReply;
  try {
    reply = { seq: job.seq, out: distort(job) };
  } catch (err) {
    reply = { seq: job.seq, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  setup.replies.postMessage(reply, 'out' in reply ? [reply.out] : []);
});
