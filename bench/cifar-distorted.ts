/**
 * Issue 3's CIFAR `distorted_inputs` workload, side by side with its peers in one run:
 *   50,000 records from 5 full-size files -> random crop 24 -> flip -> brightness ±63 ->
 *   contrast [0.2, 1.8] -> per-image standardization -> shuffle -> batches of 128.
 *   - inqueue: stringInputProducer -> fixedLengthRecordReader -> shuffleBatch(128, m 20,000) of raw
 *     records -> distortCifarBatch, numThreads 1 (inline) and 2 (two worker threads), 3 epochs; and,
 *     for contrast, distortCifar on each record before the shuffle (inline);
 *   - peers from ../shared/bench/peers (each skipped, saying why, when it cannot run here):
 *     PyTorch DataLoader (workers 0, 1, 2), hand-vectorized NumPy, the C limit (1 and 2 threads),
 *     tfjs-data per element on the cpu and wasm backends.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  arg,
  BENCH_ROOT,
  ensureCifar,
  type Measured,
  median,
  PEERS,
  runJson,
  runNode,
  table,
} from './common.js';

const PYTHON = '/usr/bin/python3';

function peer(
  label: string,
  cmd: string,
  args: string[],
  rate: (r: Record<string, unknown>) => number,
  env = {},
) {
  const r = runJson(cmd, args, env);
  return r
    ? { label, rate: rate(r), rss: (r.peak_rss_mb ?? r.peakRssMB ?? r.peak_pss_mb) as number | undefined }
    : null;
}

export async function benchDistorted(): Promise<void> {
  const worker = fileURLToPath(new URL('./cifar-distorted-worker.ts', import.meta.url));
  const rounds = Number(arg('rounds', '3'));
  const dir = await ensureCifar();
  // Primary: shuffle raw records, distort batches (inline / 2 workers); for contrast, distort each
  // record before the shuffle (inline).
  const configs = [
    { label: 'inqueue, numThreads 1 (shuffle raw, distort batches)', args: ['1', '3', 'batch'] },
    { label: 'inqueue, numThreads 2 (shuffle raw, distort batches)', args: ['2', '3', 'batch'] },
    { label: 'inqueue, numThreads 1 (distort each record, then shuffle)', args: ['1', '3', 'element'] },
  ];
  const runs: Measured[][] = configs.map(() => []);
  for (let i = 0; i < rounds; i++) {
    for (const [k, c] of configs.entries()) runs[k].push(runNode(worker, [dir, ...c.args]));
    process.stderr.write(
      `distorted round ${i + 1}: ${runs.map((r) => r[i].samplesPerSec.toFixed(0)).join(', ')} samples/s\n`,
    );
  }
  const rates = runs.map((r) => median(r.map((x) => x.samplesPerSec)));
  const [q1, q2] = rates;
  const rows: [string, number | null, number | undefined][] = configs.map((c, k) => [
    c.label,
    rates[k],
    median(runs[k].map((r) => r.peakRssMB ?? 0)),
  ]);
  const peers: Record<string, number> = {};
  if (!process.argv.includes('--no-peers')) {
    const medianOf = (r: Record<string, unknown>) => Number(r.median_samples_per_s);
    const found = [
      ...[0, 1, 2].map((w) =>
        peer(
          `PyTorch DataLoader, workers ${w}`,
          PYTHON,
          [`${PEERS}torch_cifar.py`, '--workers', String(w), '--epochs', '3'],
          medianOf,
        ),
      ),
      peer('NumPy vectorized, 1 process', PYTHON, [`${PEERS}numpy_cifar.py`, '--epochs', '3'], medianOf),
      ...[1, 2].map((t) => {
        const exe = `${BENCH_ROOT}/cifar_limit`;
        if (!existsSync(exe)) {
          spawnSync('gcc', ['-O3', '-march=native', '-pthread', '-o', exe, `${PEERS}cifar_limit.c`, '-lm'], {
            stdio: 'inherit',
          });
        }
        return peer(
          `C limit (gcc -O3), ${t} thread${t > 1 ? 's' : ''}`,
          exe,
          ['--threads', String(t), '--epochs', '5'],
          medianOf,
        );
      }),
      ...['cpu', 'wasm'].map((backend) =>
        peer(
          `tfjs-data per element, ${backend} (steady state, shuffle buffer 2,000)`,
          process.execPath,
          [`${PEERS}tfjs/pipeline_bench.js`, `tfjs-${backend}`, '3072', '2000'],
          (r) => Number(r.steadySamplesPerSec),
          { NODE_PATH: fileURLToPath(new URL('../node_modules', import.meta.url)) },
        ),
      ),
    ];
    for (const p of found) {
      if (!p) continue;
      rows.push([p.label, p.rate, p.rss]);
      peers[p.label] = p.rate;
    }
  }
  console.log(
    '\n## CIFAR distorted_inputs: 5 files x 10,000 records -> distort -> shuffleBatch(128, m=20000)',
  );
  console.log(`inqueue: medians of ${rounds} fresh-process runs of 3 epochs each; peers: one run each\n`);
  console.log(table(rows));
  console.log(`\nscaling 1 -> 2 threads: ${(q2 / q1).toFixed(2)}x  (goal >= 1.7x)`);
  const best = Math.max(q1, q2);
  const ratio = (label: string, goal: string, pick: (k: string) => boolean, ours = best) => {
    const vals = Object.entries(peers)
      .filter(([k]) => pick(k))
      .map(([, v]) => v);
    if (vals.length > 0) console.log(`${label}: ${(ours / Math.max(...vals)).toFixed(2)}x  (goal ${goal})`);
  };
  ratio('inqueue / PyTorch DataLoader (its best worker count)', '>= 10x', (k) => k.startsWith('PyTorch'));
  ratio('inqueue 1 thread / NumPy', '>= 1x', (k) => k.startsWith('NumPy'), q1);
  ratio('inqueue 1 thread / C limit 1 thread', '>= 0.25, stretch 0.5', (k) => k.endsWith(', 1 thread'), q1);
  ratio('inqueue / tfjs-data (its fastest backend)', '>= 30x', (k) => k.startsWith('tfjs-data'));
}
