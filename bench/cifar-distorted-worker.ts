/** One measured run of the distorted CIFAR bench in a fresh process; prints one JSON line. */
import { join } from 'node:path';
import { fixedLengthRecordReader, mapParallel, shuffleBatch, stringInputProducer } from '../src/index.js';

const [dir, threadsArg, epochsArg] = process.argv.slice(2);
const numThreads = Number(threadsArg);
const epochs = Number(epochsArg ?? 3);
const files = [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`));
let peakRss = 0;
const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
timer.unref();

const t0 = performance.now();
const records = fixedLengthRecordReader(stringInputProducer(files, { numEpochs: epochs, seed: 1 }), {
  recordBytes: 3073,
});
// numThreads 1: the work runs inline on this thread; N > 1: on N worker threads, 64 records a message.
const examples = mapParallel<
  { key: string; value: Uint8Array },
  { key: string; label: number; image: unknown }
>(
  records,
  { module: new URL('./distort-fn.ts', import.meta.url), export: 'distortRecord' },
  { numThreads: numThreads === 1 ? 0 : numThreads, chunkSize: 64, seed: 1 },
);
const batches = shuffleBatch(examples as never, {
  batchSize: 128,
  capacity: 20_384,
  minAfterDequeue: 20_000,
  seed: 1,
});
let samples = 0;
let checksum = 0;
for await (const b of batches) {
  const batch = b as { label: { data: Int32Array }; image: { data: Float32Array } };
  samples += batch.label.data.length;
  checksum += batch.image.data[7];
}
const seconds = (performance.now() - t0) / 1000;
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(
  JSON.stringify({
    numThreads,
    samples,
    seconds,
    samplesPerSec: samples / seconds,
    peakRssMB: Math.round(peakRss / 2 ** 20),
    checksum,
  }),
);
