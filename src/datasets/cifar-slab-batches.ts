import { ShufflePool } from '../batch/shuffle-pool.js';
import type { BufferRecycler } from '../core/buffer-recycler.js';
import { InputError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { distortCifar } from '../image/distort-cifar.js';
import {
  cifarDraws,
  type DistortCifarBatchOptions,
  type DistortedCifarBatch,
} from '../image/distort-cifar-batch.js';
import type { RecordBatchPlan } from '../resume/shuffled-record-batches.js';
import {
  kernelRegionBytes,
  RecordSlab,
  SharedDistortKernel,
  sharedKernelMemory,
  sharedMemoryStart,
} from '../wasm/distort-cifar-kernel.js';
import { CifarDistortPool } from './cifar-distort-pool.js';

/** Batches out on each worker at most (numThreads > 1); 3 measured best of 2, 3 and 4 on 2 cores. */
const JOBS_PER_WORKER = 3;
/**
 * Batches done on this thread that may wait behind a worker's unfinished one before this thread
 * waits too (each holds its output array): 4 measured ~1.1x the throughput of 1 on 2 cores, 8 no more.
 */
const WAITING_HERE = 4;

export interface SlabEngineOptions {
  /** Threads distorting batches: this one, and numThreads - 1 workers while this one also reads and shuffles. */
  numThreads: number;
  /** Hold every record of the files in memory, read once: later epochs read nothing. */
  cache: boolean;
  stage: string;
}

/**
 * distortedInputs' engine. Records live in one block of memory: the shuffle pool's fixed slots, each
 * record copied there once from the block it was read in, or (`cache`) the whole dataset, read once.
 * Picks follow ShufflePool's rule over slot numbers, and a batch is distorted straight from where
 * its records lie: one thread, one kernel call per batch; with workers, this thread reads and
 * shuffles while they distort (in order: the batches do not depend on the thread count). The
 * memory is the WebAssembly kernel's own (one thread, no cache) or a shared kernel memory. No
 * object, array or string per record: keys are made only when a batch's `key` is read. The batches
 * equal those of shuffledRecordBatches + distortCifarBatch (tested).
 */
export async function* slabDistortedBatches(
  plan: RecordBatchPlan,
  options: DistortCifarBatchOptions,
  /** Where image arrays come from (and released ones go back to). */
  recycler: BufferRecycler,
  engine: SlabEngineOptions = { numThreads: 1, cache: false, stage: 'distortedInputs' },
): AsyncGenerator<DistortedCifarBatch> {
  const { recordBytes: R, batchSize: B, minAfterDequeue: m, start } = plan;
  const { stage } = engine;
  const labelBytes = options.labelBytes ?? 1;
  const size = options.size ?? 24;
  const per = size * size * 3;
  const useKernel = options.kernel !== 'js';
  // This thread distorts too: numThreads - 1 workers.
  const numWorkers = engine.numThreads > 1 && useKernel ? engine.numThreads - 1 : 0;
  const maxJobs = numWorkers * JOBS_PER_WORKER;
  // Pool (at most m after each pick) + ready line (at most B - 1) + the record being added, and the
  // worker batches not yet delivered: the in-order line holds at most maxJobs + WAITING_HERE + 1.
  const slots = m + B + (numWorkers > 0 ? maxJobs + WAITING_HERE + 1 : 0) * B;
  const perEpochBytes = plan.counts.reduce((a, c) => a + c * R, 0);

  // Where records live. Shared kernel memory: [module reserve][argument regions: this thread's,
  // then each worker's][the cache, or the slots].
  const region = kernelRegionBytes(B, size);
  const wantShared = useKernel && (engine.cache || numWorkers > 0);
  const memory = wantShared
    ? sharedKernelMemory((1 + numWorkers) * region + (engine.cache ? perEpochBytes : slots * R))
    : null;
  const kernel = memory ? SharedDistortKernel.create(memory, sharedMemoryStart, B, size) : null;
  const shared =
    memory && kernel ? { memory, kernel, heap: Buffer.from(memory.buffer as ArrayBuffer) } : null;
  const recordsAt = sharedMemoryStart + (1 + numWorkers) * region;
  const cached = shared !== null && engine.cache;
  const slab =
    shared || !useKernel
      ? null
      : RecordSlab.create({ slots, recordBytes: R, planesOffset: labelBytes, maxBatch: B, size });
  // The bytes records are read from (absolute addresses in shared memory; slot * R otherwise).
  const bytes = shared
    ? new Uint8Array(shared.memory.buffer as ArrayBuffer)
    : slab
      ? slab.bytes
      : new Uint8Array(slots * R);
  const { drawAll, recordRng } = cifarDraws(options);
  const single = shared || slab ? null : distortCifar({ ...options, kernel: 'js' });

  const indexOf = new Float64Array(slots); // stream index of the record in each slot
  const addressOf = new Float64Array(slots); // where its bytes are
  const free = new Int32Array(slots);
  let nFree = 0;
  for (let s = slots - 1; s >= 0; s--) free[nFree++] = s;
  const fileAt = new Float64Array(plan.counts.length); // cached files' addresses

  if (cached) {
    let at = recordsAt;
    for (const [f, count] of plan.counts.entries()) {
      fileAt[f] = at;
      let n = 0;
      const changed = (has: string) =>
        new InputError(
          `${stage}: Expected ${count} records in ${JSON.stringify(plan.files[f])} (its size when the pipeline was made) but it has ${has}`,
          { file: plan.files[f], stage, parameter: 'path' },
        );
      for await (const b of plan.fileBlocks(f)) {
        // A file that grew must not spill into the next file's place.
        if (n + b.count > count) throw changed(`more`);
        Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.count * R).copy(shared.heap, at + b.record * R);
        n += b.count;
      }
      if (n !== count) throw changed(String(n));
      at += count * R;
    }
  }

  /** Takes a slot for the record with stream `index`, copying its bytes in unless cached. */
  const put = (index: number, source: Uint8Array | null, offset: number, address: number): number => {
    if (nFree === 0) throw new Error(`${stage}: internal error: no free slot (${slots} slots)`);
    const slot = free[--nFree];
    indexOf[slot] = index;
    if (cached) addressOf[slot] = address;
    else if (shared) {
      addressOf[slot] = recordsAt + slot * R;
      Buffer.from(source!.buffer, source!.byteOffset + offset, R).copy(shared.heap, addressOf[slot]);
    } else {
      addressOf[slot] = slot * R;
      bytes.set(source!.subarray(offset, offset + R), slot * R);
    }
    return slot;
  };
  const cacheAddress = (index: number) => {
    const at = plan.locate(index);
    return fileAt[at.fileIndex] + at.record * R;
  };
  const initial = cached ? null : await plan.poolRecords(start.pool);
  const pool = new ShufflePool<number>(m, plan.seed, 'shuffle_batch', {
    items: initial
      ? initial.map((r) => put(r.index, r.value, 0, 0))
      : start.pool.map((index) => put(index, null, 0, cacheAddress(index))),
    rngDrawn: start.rngDrawn,
  });

  const ready = slab ? slab.slotsOf : new Int32Array(B);
  let nReady = 0;

  /** The batch of the ready records, but its pixels: their indices and labels. */
  const describe = () => {
    const index = new Int32Array(B);
    const label = new Int32Array(B);
    const coarse = labelBytes === 2 ? new Int32Array(B) : undefined;
    for (let i = 0; i < B; i++) {
      const at = addressOf[ready[i]];
      index[i] = indexOf[ready[i]];
      label[i] = bytes[at + labelBytes - 1];
      if (coarse) coarse[i] = bytes[at];
    }
    return { index, label, coarse };
  };
  const assemble = (d: ReturnType<typeof describe>, data: Float32Array): DistortedCifarBatch => {
    const batch: DistortedCifarBatch = {
      index: { dtype: 'int32', shape: [B], data: d.index } as Tensor<'int32'>,
      label: { dtype: 'int32', shape: [B], data: d.label } as Tensor<'int32'>,
      image: { dtype: 'float32', shape: [B, size, size, 3], data } as Tensor<'float32'>,
    };
    if (d.coarse) batch.coarseLabel = { dtype: 'int32', shape: [B], data: d.coarse } as Tensor<'int32'>;
    recycler.bind(data, batch);
    return withLazyKeys(batch, plan);
  };
  const freeSlots = (taken: ArrayLike<number>) => {
    for (let i = 0; i < taken.length; i++) free[nFree++] = taken[i];
  };

  /** The ready records distorted on this thread, now. */
  const distortHere = (): DistortedCifarBatch => {
    nReady = 0;
    const d = describe();
    const data = recycler.take(B * per);
    if (shared) {
      for (let i = 0; i < B; i++) shared.kernel.addresses[i] = addressOf[ready[i]];
      drawAll(d.index, B, shared.kernel.draws);
      shared.kernel.distort(B, labelBytes, data);
    } else if (slab) {
      drawAll(d.index, B, slab.draws);
      slab.distort(B, data);
    } else {
      for (let i = 0; i < B; i++) {
        const record = bytes.subarray(ready[i] * R, (ready[i] + 1) * R);
        data.set(single!(record, recordRng(d.index[i])).image.data, i * per);
      }
    }
    freeSlots(ready);
    return assemble(d, data);
  };

  const regions = Array.from({ length: numWorkers }, (_, w) => sharedMemoryStart + (1 + w) * region);
  const workers =
    shared && numWorkers > 0 ? new CifarDistortPool(shared.memory, regions, B, options, stage) : null;
  /**
   * Batches in output order: distorted here (data set) or on a worker (data set when it is back).
   * Their slots stay taken until they are delivered.
   */
  interface Job {
    /** A batch distorted here (its slots are free already). */
    batch?: DistortedCifarBatch;
    /** A batch on a worker: its slots, description, and pixels once back. */
    taken?: Int32Array;
    d?: ReturnType<typeof describe>;
    data?: Float32Array;
    out?: Promise<Float32Array>;
  }
  const jobs: Job[] = [];
  let onWorkers = 0;
  const submit = (): void => {
    nReady = 0;
    const d = describe();
    const taken = ready.slice();
    const addresses = new Int32Array(B);
    for (let i = 0; i < B; i++) addresses[i] = addressOf[taken[i]];
    const job: Job = { taken, d };
    job.out = workers!.distort(addresses, d.index, recycler.spare(B * per), (data) => {
      onWorkers--;
      job.data = recycler.adopt(data);
    });
    job.out.catch(() => undefined); // a stream stopped early never awaits it
    onWorkers++;
    jobs.push(job);
  };
  const collect = async (): Promise<DistortedCifarBatch> => {
    const job = jobs.shift()!;
    if (job.batch) return job.batch;
    if (job.data === undefined) await job.out;
    const data = job.data!;
    freeSlots(job.taken!);
    return assemble(job.d!, data);
  };
  /**
   * A full ready line. One thread: distorted here. With workers: sent to one while fewer than
   * JOBS_PER_WORKER per worker are out, else distorted here (this thread works too instead of
   * waiting); then the batches that are done, in order, are delivered, waiting for the oldest only
   * once WAITING_HERE batches done here queue behind it.
   */
  async function* batchReady(): AsyncGenerator<DistortedCifarBatch> {
    if (!workers) {
      yield distortHere();
      return;
    }
    workers.poll();
    if (onWorkers < maxJobs) submit();
    else jobs.push({ batch: distortHere() });
    workers.poll();
    const done = (j: Job) => j.batch !== undefined || j.data !== undefined;
    while (jobs.length > 0 && (done(jobs[0]) || jobs.length > maxJobs + WAITING_HERE)) yield await collect();
  }

  try {
    if (cached) {
      // Stream order without reading: epoch by epoch, each epoch's file order, records in order.
      const total = plan.total ?? Number.POSITIVE_INFINITY;
      let index = start.nextIndex;
      if (index < total) {
        const first = plan.locate(index);
        let record = first.record;
        for (let epoch = first.epoch, position = first.position; index < total; epoch++, position = 0) {
          const order = plan.order(epoch);
          for (; position < order.length && index < total; position++, record = 0) {
            const f = order[position];
            const count = plan.counts[f];
            for (let address = fileAt[f] + record * R; record < count; record++, address += R) {
              const picked = pool.add(put(index++, null, 0, address));
              if (picked === undefined) continue;
              ready[nReady++] = picked;
              if (nReady === B) yield* batchReady();
            }
          }
        }
      }
    } else {
      for await (const block of plan.blocks(start.nextIndex)) {
        for (let k = 0; k < block.count; k++) {
          const picked = pool.add(put(block.index + k, block.bytes, k * R, 0));
          if (picked === undefined) continue;
          ready[nReady++] = picked;
          if (nReady === B) yield* batchReady();
        }
      }
    }
    // The input ended: the pool drains in random order; a last partial batch is dropped (as TF's).
    while (pool.size > 0) {
      ready[nReady++] = pool.pick();
      if (nReady === B) yield* batchReady();
    }
    while (jobs.length > 0) yield await collect();
  } finally {
    await workers?.close();
  }
}

/** `key` as an enumerable property computed on first read (most consumers never read it). */
function withLazyKeys(batch: DistortedCifarBatch, plan: RecordBatchPlan): DistortedCifarBatch {
  let keys: string[] | undefined;
  return Object.defineProperty(batch, 'key', {
    enumerable: true,
    configurable: true,
    get: () => (keys ??= Array.from(batch.index.data, (i) => plan.keyOf(i))),
    set: (value: string[]) => {
      keys = value;
    },
  });
}
