/**
 * The raw CIFAR path of issue 2, side by side in one run:
 *   50,000 records from 5 full-size files -> decodeCifarRecord -> shuffleBatch(128, minAfterDequeue
 *   20,000, capacity 20,384), samples/s over one epoch (queue fill included), for:
 *   - plain:   a loop over the same bytes with the same decode, shuffle and stacking (the limit);
 *   - inqueue: stringInputProducer -> fixedLengthRecordReader -> pipe(map(decode)) -> shuffleBatch;
 *   - tfjs:    @tensorflow/tfjs-data, generator(records).map(read_cifar10 as tensor ops)
 *              .shuffle(20000).batch(128) on the cpu backend.
 * Each run is a fresh process; plain and inqueue alternate for `--rounds` rounds (default 3).
 */
import { fileURLToPath } from 'node:url';
import { arg, ensureCifar, type Measured, median, runNode, table } from './common.js';

export async function benchRaw(): Promise<void> {
  const worker = fileURLToPath(new URL('./cifar-raw-worker.ts', import.meta.url));
  const rounds = Number(arg('rounds', '3'));
  const dir = await ensureCifar();
  const plain: Measured[] = [];
  const inq: Measured[] = [];
  for (let i = 0; i < rounds; i++) {
    plain.push(runNode(worker, ['plain', dir]));
    inq.push(runNode(worker, ['inqueue', dir]));
    process.stderr.write(
      `raw round ${i + 1}: plain ${plain[i].samplesPerSec.toFixed(0)}/s, inqueue ${inq[i].samplesPerSec.toFixed(0)}/s\n`,
    );
  }
  const tfjs = process.argv.includes('--no-tfjs')
    ? null
    : runNode(worker, ['tfjs', dir, arg('tfjs-records', '50000')]);
  const p = median(plain.map((r) => r.samplesPerSec));
  const q = median(inq.map((r) => r.samplesPerSec));
  console.log(
    '\n## CIFAR raw path: 5 files x 10,000 records -> decode -> shuffleBatch(128, m=20000, cap=20384)',
  );
  console.log(`medians of ${rounds} fresh-process runs (tfjs-data: one run)\n`);
  console.log(
    table([
      ['plain loop (limit)', p, median(plain.map((r) => r.peakRssMB ?? 0))],
      ['inqueue', q, median(inq.map((r) => r.peakRssMB ?? 0))],
      ...(tfjs
        ? [
            [`tfjs-data (${tfjs.backend}, ${tfjs.samples} samples)`, tfjs.samplesPerSec, tfjs.peakRssMB] as [
              string,
              number,
              number,
            ],
          ]
        : []),
    ]),
  );
  console.log(`\ninqueue / plain loop: ${(q / p).toFixed(2)}  (goal >= 0.50)`);
  if (tfjs) console.log(`inqueue / tfjs-data:  ${(q / tfjs.samplesPerSec).toFixed(1)}x  (goal >= 10x)`);
}
