/**
 * Issue 3's CIFAR `distorted_inputs` workload, side by side with its peers in one run:
 *   50,000 records from 5 full-size files -> random crop 24 -> flip -> brightness ±63 ->
 *   contrast [0.2, 1.8] -> per-image standardization -> shuffle -> batches of 128.
 *   - inqueue: distortedInputs (its slab engine) at 1 and 2 threads, with and without the dataset
 *     cached in memory and the batches released (handed back for reuse, as a trainer that copies
 *     them to a device does); and, for contrast, the general path (per-record reader ->
 *     shuffleBatch of raw records -> distortCifarBatch);
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
  // distortedInputs (the slab engine) in its modes, and for contrast the general path: per-record
  // reader -> shuffleBatch of raw records -> distortCifarBatch.
  const configs = [
    { label: 'inqueue distortedInputs, 1 thread', args: ['1', '12', 'inputs'] },
    { label: 'inqueue distortedInputs, 1 thread, batches released', args: ['1', '12', 'inputs', 'release'] },
    {
      label: 'inqueue distortedInputs, 1 thread, cache, released',
      args: ['1', '12', 'inputs', 'cache', 'release'],
    },
    {
      label: 'inqueue distortedInputs, 2 threads, cache, released',
      args: ['2', '12', 'inputs', 'cache', 'release'],
    },
    { label: 'inqueue distortedInputs, 2 threads, released', args: ['2', '12', 'inputs', 'release'] },
    {
      label: 'inqueue general path (record reader, shuffleBatch, distortCifarBatch)',
      args: ['1', '3', 'batch'],
    },
  ];
  const runs: Measured[][] = configs.map(() => []);
  for (let i = 0; i < rounds; i++) {
    for (const [k, c] of configs.entries()) runs[k].push(runNode(worker, [dir, ...c.args]));
    process.stderr.write(
      `distorted round ${i + 1}: ${runs.map((r) => r[i].samplesPerSec.toFixed(0)).join(', ')} samples/s\n`,
    );
  }
  const rates = runs.map((r) => median(r.map((x) => x.samplesPerSec)));
  const firstEpoch = runs.map((r) =>
    median(r.map((x) => ((x.epochSamplesPerSec as number[] | undefined) ?? [0])[0])),
  );
  const [plain1, released1, cached1, cached2] = rates;
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
  console.log(
    `inqueue: medians of ${rounds} fresh-process runs; distortedInputs rows: the median epoch after the first ` +
      '(first epochs, with startup: ' +
      firstEpoch
        .slice(0, 5)
        .map((r) => r.toFixed(0))
        .join(', ') +
      '), as the peers report per-epoch medians; peers: one run each\n',
  );
  console.log(table(rows));
  console.log(
    `\nscaling 1 -> 2 threads (cache, released): ${(cached2 / cached1).toFixed(2)}x  (goal >= 1.7x)`,
  );
  const best = Math.max(...rates);
  const ratio = (label: string, goal: string, pick: (k: string) => boolean, ours = best) => {
    const vals = Object.entries(peers)
      .filter(([k]) => pick(k))
      .map(([, v]) => v);
    if (vals.length > 0) console.log(`${label}: ${(ours / Math.max(...vals)).toFixed(2)}x  (goal ${goal})`);
  };
  const isNumpy = (k: string) => k.startsWith('NumPy');
  const isC1 = (k: string) => k.endsWith(', 1 thread');
  ratio('inqueue best / PyTorch DataLoader (its best worker count)', '>= 10x', (k) =>
    k.startsWith('PyTorch'),
  );
  ratio('inqueue 1 thread, cache, released / NumPy (data in memory too)', '>= 1x', isNumpy, cached1);
  ratio('inqueue 1 thread, released (reads every epoch) / NumPy', '>= 1x', isNumpy, released1);
  ratio('inqueue 1 thread, batches not released / NumPy', '>= 1x', isNumpy, plain1);
  ratio('inqueue 1 thread, cache, released / C limit 1 thread', '>= 0.25, stretch 0.5', isC1, cached1);
  ratio('inqueue 1 thread, released / C limit 1 thread', '>= 0.25, stretch 0.5', isC1, released1);
  ratio('inqueue best / tfjs-data (its fastest backend)', '>= 30x', (k) => k.startsWith('tfjs-data'));
}
