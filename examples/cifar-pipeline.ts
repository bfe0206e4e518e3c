/**
 * The CIFAR-10 input pipeline of TensorFlow's tutorial alone, without a model (filename queue ->
 * fixed-length reader -> decode -> shuffle batch), over the bundled fixture or a folder you name,
 * printing batches/s and each queue's fill as it runs. (`npm run demo` trains a model on it.)
 *
 *   npm run example:pipeline                                    # the generated fixture in fixtures/
 *   npm run example:pipeline -- /data/cifar-10-batches-bin      # a real extracted CIFAR-10 binary folder
 *   npm run example:pipeline -- --epochs 5 --batch 128 --seed 1
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { map } from 'rxjs';
import {
  decodeCifarRecord,
  fixedLengthRecordReader,
  type StageStats,
  shuffleBatch,
  stringInputProducer,
} from '../src/index.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const positional = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const dir = positional[0] ?? fileURLToPath(new URL('../fixtures/cifar-10-batches-bin', import.meta.url));
const files = [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`));
const missing = files.filter((f) => !existsSync(f));
if (missing.length > 0) {
  console.error(
    `inqueue demo: missing ${missing.join(', ')} (run 'npm run fixtures' or name a CIFAR-10 binary folder)`,
  );
  process.exit(1);
}
const epochs = option('epochs', 10);
const batchSize = option('batch', 128);
const seed = option('seed', 1);
// The tutorial keeps 40% of an epoch in the shuffle queue; scale that to the data at hand.
const perEpoch = files.reduce((n, f) => n + Math.floor(statSync(f).size / 3073), 0);
const minAfterDequeue = Math.min(20_000, Math.floor(perEpoch * 0.4));

const filenames = stringInputProducer(files, { numEpochs: epochs, shuffle: true, seed });
const records = fixedLengthRecordReader(filenames, { recordBytes: 3073 });
const examples = records.pipe(map((r) => ({ key: r.key, ...decodeCifarRecord(r.value) })));
const batches = shuffleBatch(examples, {
  batchSize,
  capacity: minAfterDequeue + 3 * batchSize,
  minAfterDequeue,
  seed,
});

const fill = (stats: StageStats[]) =>
  stats
    .filter((s) => Number.isFinite(s.capacity) && s.name !== 'pipe')
    .map((s) => `${s.name} ${(100 * s.fractionFull).toFixed(0)}% (${s.size}/${s.capacity})`)
    .join(', ');

console.log(
  `inqueue demo: ${files.length} files from ${dir}, ${epochs} epochs, batch ${batchSize}, seed ${seed}`,
);
console.log(`shuffle_batch: capacity ${minAfterDequeue + 3 * batchSize}, minAfterDequeue ${minAfterDequeue}`);
const t0 = performance.now();
let nBatches = 0;
let samples = 0;
let lastPrint = t0;
for await (const b of batches) {
  nBatches++;
  samples += b.label.shape[0];
  const now = performance.now();
  if (now - lastPrint > 250) {
    lastPrint = now;
    const s = (now - t0) / 1000;
    console.log(
      `  ${nBatches} batches, ${(nBatches / s).toFixed(1)} batches/s, ${(samples / s).toFixed(0)} samples/s | ${fill(batches.stats())}`,
    );
  }
}
const seconds = (performance.now() - t0) / 1000;
console.log(
  `done: ${nBatches} batches (${samples} samples) in ${seconds.toFixed(2)} s: ${(nBatches / seconds).toFixed(1)} batches/s, ${(samples / seconds).toFixed(0)} samples/s`,
);
for (const s of batches.stats()) {
  console.log(
    `  ${s.name.padEnd(28)} in ${String(s.elementsIn).padStart(7)}  out ${String(s.elementsOut).padStart(7)}  skipped ${s.skipped}`,
  );
}
