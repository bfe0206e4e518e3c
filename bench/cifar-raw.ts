/**
 * `npm run bench`: the raw CIFAR path of issue 2, side by side in one run.
 *   50,000 records from 5 full-size files -> decodeCifarRecord -> shuffleBatch(128, minAfterDequeue
 *   20,000, capacity 20,384), samples/s over one epoch (queue fill included), for:
 *   - plain:   a hand-written loop over the same bytes doing the same decode, shuffle and stacking
 *              (the limit for JavaScript on this machine);
 *   - inqueue: stringInputProducer -> fixedLengthRecordReader -> pipe(map(decode)) -> shuffleBatch;
 *   - tfjs:    @tensorflow/tfjs-data, tf.data.generator(decoded examples).shuffle(20000).batch(128),
 *              cpu backend.
 * Each run is a fresh child process (no shared JIT or heap); plain and inqueue alternate for
 * `--rounds` rounds (default 3) and the medians are compared. Usage:
 *   npm run bench [-- --rounds 3 --tfjs-records 50000 --no-tfjs]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCifar10 } from '../scripts/cifar-synth.js';

const RECORDS_PER_FILE = 10_000;
const RECORD_BYTES = 3073;

interface Result {
  mode: string;
  samples: number;
  seconds: number;
  samplesPerSec: number;
  peakRssMB: number;
  backend?: string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function ensureData(): Promise<string> {
  const root = join(tmpdir(), 'inqueue-bench');
  const dir = join(root, 'cifar-10-batches-bin');
  const ok = [1, 2, 3, 4, 5].every((i) => {
    const f = join(dir, `data_batch_${i}.bin`);
    return existsSync(f) && statSync(f).size === RECORDS_PER_FILE * RECORD_BYTES;
  });
  if (!ok) {
    process.stderr.write(`writing full-size CIFAR-10 binaries to ${dir} ...\n`);
    await writeSyntheticCifar10(root, { recordsPerFile: RECORDS_PER_FILE, seed: 12345 });
  }
  return dir;
}

function runChild(mode: string, dir: string, extra: string[] = []): Result {
  const self = fileURLToPath(import.meta.url);
  const worker = join(self, '..', 'cifar-raw-worker.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', worker, mode, dir, ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench child ${mode} failed:\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as Result;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const rounds = Number(arg('rounds', '3'));
const tfjsRecords = arg('tfjs-records', '50000');
const dir = await ensureData();
const plain: Result[] = [];
const inq: Result[] = [];
for (let i = 0; i < rounds; i++) {
  plain.push(runChild('plain', dir));
  inq.push(runChild('inqueue', dir));
  process.stderr.write(
    `round ${i + 1}: plain ${plain[i].samplesPerSec.toFixed(0)}/s, inqueue ${inq[i].samplesPerSec.toFixed(0)}/s\n`,
  );
}
const tfjs = process.argv.includes('--no-tfjs') ? null : runChild('tfjs', dir, [tfjsRecords]);
const p = median(plain.map((r) => r.samplesPerSec));
const q = median(inq.map((r) => r.samplesPerSec));
const rows = [
  ['plain loop (limit)', p, median(plain.map((r) => r.peakRssMB))],
  ['inqueue', q, median(inq.map((r) => r.peakRssMB))],
  ...(tfjs
    ? [[`tfjs-data (${tfjs.backend}, ${tfjs.samples} samples)`, tfjs.samplesPerSec, tfjs.peakRssMB]]
    : []),
] as [string, number, number][];
console.log('\nCIFAR raw path: 5 files x 10,000 records -> decode -> shuffleBatch(128, m=20000, cap=20384)');
console.log(`medians of ${rounds} fresh-process runs (tfjs-data: one run)\n`);
console.log('| pipeline | samples/s | peak RSS MB |\n|---|---:|---:|');
for (const [name, rate, rss] of rows) console.log(`| ${name} | ${rate.toFixed(0)} | ${rss} |`);
console.log(`\ninqueue / plain loop: ${(q / p).toFixed(2)}  (goal >= 0.50)`);
if (tfjs) console.log(`inqueue / tfjs-data:  ${(q / tfjs.samplesPerSec).toFixed(1)}x  (goal >= 10x)`);
