/**
 * One measured run of the distorted CIFAR bench in a fresh process; prints one JSON line.
 * Usage: cifar-distorted-worker.ts <dir> <numThreads> <epochs> [inputs|batch|element|sharded] [flags]
 *   inputs: distortedInputs (the slab engine), flags `cache` and `release` (hand each batch back);
 *     the rate is the median over epochs (50,000 samples each, as the peers report), the first
 *     epoch (startup, worker spawn) shown apart;
 *   batch (default): shuffle raw records, then distort whole batches (distortCifarBatch; each record
 *     keyed by its stream index, so the batches equal distort-then-shuffle's);
 *   element: distort each record as it is read (mapParallel over records), then shuffle;
 *   sharded: two whole pipelines (read, shuffle, distort batches), each on its own thread, batches
 *     interleaved (shardedPipeline).
 * numThreads 1 runs the work inline; N > 1 on N worker threads.
 */
import { join } from 'node:path';
import { map } from 'rxjs';
import type { DistortedCifarBatch, RawCifarBatch } from '../src/image/distort-cifar-batch.js';
import {
  distortCifarBatch,
  distortedInputs,
  fixedLengthRecordReader,
  mapParallel,
  shardedPipeline,
  shuffleBatch,
  stringInputProducer,
} from '../src/index.js';

const [dir, threadsArg, epochsArg, modeArg, ...flags] = process.argv.slice(2);
const numThreads = Number(threadsArg);
const epochs = Number(epochsArg ?? 3);
const mode = modeArg ?? 'batch';
const files = [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`));
const fn = new URL('./distort-fn.ts', import.meta.url);
const shuffle = { batchSize: 128, capacity: 20_384, minAfterDequeue: 20_000, seed: 1 };
let peakRss = 0;
const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
timer.unref();

const hooks: { release?: (b: never) => void } = {};

async function pipeline(): Promise<
  AsyncIterable<{ label: { data: Int32Array }; image: { data: Float32Array } }>
> {
  if (mode === 'inputs') {
    const s = await distortedInputs({
      path: dir,
      seed: 1,
      numEpochs: epochs,
      numThreads,
      cache: flags.includes('cache'),
    });
    if (flags.includes('release')) hooks.release = (b) => s.release(b);
    return s;
  }
  if (mode === 'sharded') {
    // Two shards always (the output depends on it); numThreads 1 runs both inline, 2 one per worker.
    return shardedPipeline(
      { module: new URL('./cifar-shard.ts', import.meta.url), export: 'cifarShard' },
      {
        numShards: 2,
        numThreads: numThreads === 1 ? 0 : numThreads,
        transferResults: true,
        args: { dir, epochs, seed: 1, batchSize: 128, minAfterDequeue: 20_000, recordsPerFile: 10_000 },
      },
    ) as never;
  }
  const filenames = stringInputProducer(files, { numEpochs: epochs, seed: 1 });
  if (mode === 'element') {
    const records = fixedLengthRecordReader(filenames, { recordBytes: 3073 });
    const examples = mapParallel<
      { key: string; value: Uint8Array },
      { key: string; label: number; image: unknown }
    >(
      records,
      { module: fn, export: 'distortRecord' },
      { numThreads: numThreads === 1 ? 0 : numThreads, chunkSize: 64, seed: 1 },
    );
    return shuffleBatch(examples as never, shuffle) as never;
  }
  // Raw records own their bytes (copy): 3 KB each in the shuffle pool, no pinned read chunks.
  const records = fixedLengthRecordReader(filenames, { recordBytes: 3073, copy: true });
  const indexed = records.pipe(map((r, index) => ({ key: r.key, index, value: r.value })));
  const raw = shuffleBatch(indexed, shuffle);
  if (numThreads === 1) return raw.pipe(map(distortCifarBatch({ seed: 1 }) as never)) as never;
  return mapParallel<RawCifarBatch, DistortedCifarBatch>(
    raw as never,
    { module: fn, export: 'distortRawBatch' },
    { numThreads, seed: 1, transferResults: true },
  ) as never;
}

const t0 = performance.now();
let samples = 0;
let checksum = 0;
const PER_EPOCH = 50_000;
let mark = t0;
const epochRates: number[] = [];
for await (const b of await pipeline()) {
  samples += b.label.data.length;
  checksum += b.image.data[7];
  hooks.release?.(b as never);
  if (samples >= (epochRates.length + 1) * PER_EPOCH) {
    const now = performance.now();
    epochRates.push((PER_EPOCH / (now - mark)) * 1000);
    mark = now;
  }
}
const seconds = (performance.now() - t0) / 1000;
const steady = epochRates.slice(1).sort((a, b) => a - b);
peakRss = Math.max(peakRss, process.memoryUsage.rss());
console.log(
  JSON.stringify({
    mode,
    numThreads,
    samples,
    seconds,
    // inputs: the median epoch after the first (as the peers' per-epoch medians); else the whole run.
    samplesPerSec:
      mode === 'inputs' && steady.length > 0 ? steady[Math.floor(steady.length / 2)] : samples / seconds,
    wholeRunSamplesPerSec: samples / seconds,
    epochSamplesPerSec: epochRates.map(Math.round),
    peakRssMB: Math.round(peakRss / 2 ** 20),
    checksum,
  }),
);
