/**
 * One measured run of the JPEG folder bench in a fresh process; prints one JSON line.
 * Args: photos dir, numThreads (1: inline, N > 1: N worker threads), variant ('ops' | 'sharp'),
 * epochs (default 1).
 */
import { basename, dirname } from 'node:path';
import fg from 'fast-glob';
import { map } from 'rxjs';
import { batch, mapParallel, stringInputProducer, wholeFileReader } from '../src/index.js';
import type { Example, Photo } from './jpeg-fn.js';

const [dir, threadsArg, variant = 'ops', epochsArg = '1'] = process.argv.slice(2);
const numThreads = Number(threadsArg);
const epochs = Number(epochsArg);
const exportName = { ops: 'decodeAugment', sharp: 'decodeAugmentSharp' }[variant];
if (!exportName) throw new Error(`unknown variant ${variant}`);

// ImageFolder's labels: the sorted class folder names, each file labelled by its folder's index.
const files = (await fg('*/*.jpg', { cwd: dir, absolute: true })).sort();
const classes = [...new Set(files.map((f) => basename(dirname(f))))].sort();
const labelOf = new Map(files.map((f) => [f, classes.indexOf(basename(dirname(f)))]));

let peakRss = 0;
const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
timer.unref();

const t0 = performance.now();
const photos = wholeFileReader(
  stringInputProducer(files, { numEpochs: epochs, shuffle: true, seed: 1 }),
).pipe(map((r): Photo => ({ key: r.key, value: r.value, label: labelOf.get(r.key) ?? -1 })));
const examples = mapParallel<Photo, Example>(
  photos,
  { module: new URL('./jpeg-fn.ts', import.meta.url), export: exportName },
  { numThreads: numThreads === 1 ? 0 : numThreads, chunkSize: 4, seed: 1 },
);
const batches = batch(examples, { batchSize: 32, allowSmallerFinalBatch: true });
let samples = 0;
let checksum = 0;
let firstBatch = 0;
for await (const b of batches) {
  if (samples === 0) firstBatch = (performance.now() - t0) / 1000;
  samples += b.label.data.length;
  checksum += (b.image.data as Float32Array)[7];
}
const seconds = (performance.now() - t0) / 1000;
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(
  JSON.stringify({
    numThreads,
    variant,
    samples,
    seconds,
    samplesPerSec: samples / seconds,
    firstBatchSeconds: firstBatch,
    peakRssMB: Math.round(peakRss / 2 ** 20),
    checksum,
  }),
);
