/** One measured run of bench/cifar-raw.ts in a fresh process; prints one JSON line. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { map } from 'rxjs';
import {
  CounterRng,
  decodeCifarRecord,
  fixedLengthRecordReader,
  shuffleBatch,
  stringInputProducer,
} from '../src/index.js';

const [mode, dir, extra] = process.argv.slice(2);
const files = [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`));
const B = 128;
const M = 20_000;
const CAPACITY = M + 3 * B;
const RECORD = 3073;
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
rssTimer.unref();

function report(samples: number, seconds: number, more: Record<string, unknown> = {}): void {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(
    JSON.stringify({
      mode,
      samples,
      seconds,
      samplesPerSec: samples / seconds,
      peakRssMB: Math.round(peakRss / 2 ** 20),
      ...more,
    }),
  );
}

/** The same work with no pipeline: read whole files, the same decode, an eager shuffle pool, stacking. */
function plain(): void {
  const t0 = performance.now();
  const rng = new CounterRng(7, 'plain');
  const pool: { label: number; image: Uint8Array }[] = [];
  const ready: { label: number; image: Uint8Array }[] = [];
  let samples = 0;
  let checksum = 0;
  const emit = (items: { label: number; image: Uint8Array }[]) => {
    const images = new Uint8Array(items.length * 3072);
    const labels = new Int32Array(items.length);
    items.forEach((it, i) => {
      images.set(it.image, i * 3072);
      labels[i] = it.label;
    });
    samples += items.length;
    checksum += labels[0] + images[5];
  };
  const pick = () => {
    const i = rng.below(pool.length);
    const x = pool[i];
    pool[i] = pool[pool.length - 1];
    pool.pop();
    return x;
  };
  for (const f of files) {
    const bytes = readFileSync(f);
    for (let o = 0; o + RECORD <= bytes.length; o += RECORD) {
      const { label, image } = decodeCifarRecord(bytes.subarray(o, o + RECORD));
      pool.push({ label, image: image.data });
      if (pool.length > M) ready.push(pick());
      if (ready.length >= B) emit(ready.splice(0, B));
    }
  }
  while (pool.length > 0) ready.push(pick());
  while (ready.length >= B) emit(ready.splice(0, B));
  report(samples, (performance.now() - t0) / 1000, { checksum });
}

async function inqueue(): Promise<void> {
  const t0 = performance.now();
  const records = fixedLengthRecordReader(stringInputProducer(files, { numEpochs: 1, shuffle: false }), {
    recordBytes: RECORD,
  });
  const examples = records.pipe(map((r) => ({ key: r.key, ...decodeCifarRecord(r.value) })));
  const batches = shuffleBatch(examples, { batchSize: B, capacity: CAPACITY, minAfterDequeue: M, seed: 7 });
  let samples = 0;
  let checksum = 0;
  for await (const b of batches) {
    samples += b.label.shape[0];
    checksum += b.label.data[0] + b.image.data[5];
  }
  report(samples, (performance.now() - t0) / 1000, { checksum });
}

async function tfjs(limit: number): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const tfdata = await import('@tensorflow/tfjs-data');
  await tf.setBackend('cpu');
  await tf.ready();
  const t0 = performance.now();
  // What a tfjs-data user writes: raw records in, read_cifar10's decode as tensor ops
  // (decode_raw -> reshape [3,32,32] -> transpose [1,2,0]), then shuffle and batch.
  function* records() {
    let n = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      for (let o = 0; o + RECORD <= bytes.length && n < limit; o += RECORD, n++)
        yield bytes.subarray(o, o + RECORD);
    }
  }
  const ds = tfdata
    // biome-ignore lint/suspicious/noExplicitAny: tfjs-data's generator typing wants a TensorContainer.
    .generator(records as any)
    .map((rec) =>
      tf.tidy(() => {
        const r = rec as unknown as Uint8Array;
        const image = tf.transpose(tf.reshape(tf.tensor1d(r.subarray(1), 'int32'), [3, 32, 32]), [1, 2, 0]);
        return { xs: image, ys: tf.scalar(r[0], 'int32') };
      }),
    )
    .shuffle(M, '7')
    .batch(B, false);
  const it = await ds.iterator();
  let samples = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const v = r.value as {
      xs: import('@tensorflow/tfjs-core').Tensor;
      ys: import('@tensorflow/tfjs-core').Tensor;
    };
    await v.xs.data();
    samples += v.xs.shape[0];
    tf.dispose(v as never);
  }
  report(samples, (performance.now() - t0) / 1000, { backend: tf.getBackend() });
}

if (mode === 'plain') plain();
else if (mode === 'inqueue') await inqueue();
else if (mode === 'tfjs') await tfjs(Number(extra ?? 50000));
else throw new Error(`unknown mode ${mode}`);
