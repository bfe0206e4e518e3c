/**
 * Issue 5's training figures, each run in a fresh process (tfjs keeps one backend per process):
 *   - cifar10Cnn steps/s at batch 128 on each backend available here (bench/train-step.ts, random data);
 *   - the peer: tfjs's stock kernels on the same model (../shared/bench/peers/tfjs/train_bench.js):
 *     on wasm it cannot train a CNN at all (no Conv2DBackpropFilter kernel); on cpu a step takes
 *     minutes, so it runs only with --peer-cpu;
 *   - the input-bound share: cifar10Cnn trained by fit() on distortedInputs (full-size CIFAR files)
 *     with prefetch 2, and with prefetch off for contrast.
 * Options: --train-steps N (timed steps per input run, default 10), --peer-cpu.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, ensureCifar, PEERS, runJson, runNode } from './common.js';

const NODE_MODULES = fileURLToPath(new URL('../node_modules', import.meta.url));

/** Whether a package is installed with its native addon built (tfjs-node's install script fetches it). */
function installed(pkg: string): boolean {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(pkg)})`], {
    encoding: 'utf8',
    cwd: join(NODE_MODULES, '..'),
  });
  return r.status === 0;
}

function peerTfjs(backend: string, steps: number): string {
  const script = join(PEERS, 'tfjs', 'train_bench.js');
  if (!existsSync(script)) return `skipped: ${script} not found`;
  const r = spawnSync(process.execPath, [script, backend, 'cnn', String(steps), '0'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: NODE_MODULES },
    timeout: 30 * 60_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  const error = out.match(/ERROR at step \d+ : (.*)/);
  if (error) return `fails: ${error[1]}`;
  const json = out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{"backend"'))
    .pop();
  if (!json) return `no result (exit ${r.status})`;
  const j = JSON.parse(json) as { samplesPerSec: number; medianStepSec: number };
  return `${j.samplesPerSec.toFixed(2)} samples/s (${j.medianStepSec.toFixed(1)} s/step)`;
}

export async function benchTrain(): Promise<void> {
  const stepBench = fileURLToPath(new URL('./train-step.ts', import.meta.url));
  const inputWorker = fileURLToPath(new URL('./train-input-worker.ts', import.meta.url));
  const lines = ['| backend | samples/s | s/step | peak RSS MB |', '|---|---:|---:|---:|'];
  const rates = new Map<string, number>();
  for (const [backend, steps, warmup] of [
    ['wasm', 5, 2],
    ['cpu', 1, 1],
  ] as const) {
    const r = runJson(process.execPath, [
      '--import',
      'tsx',
      stepBench,
      backend,
      '--steps',
      String(steps),
      '--warmup',
      String(warmup),
    ]);
    if (!r) {
      lines.push(`| ${backend} (inqueue kernels) | n/a | | |`);
      continue;
    }
    rates.set(backend, r.samplesPerSec as number);
    lines.push(
      `| ${backend} (inqueue kernels) | ${(r.samplesPerSec as number).toFixed(1)} | ${(r.medianStepSec as number).toFixed(2)} | ${r.rssMB} |`,
    );
  }
  for (const backend of ['gpu', 'node'] as const) {
    const pkg = `@tensorflow/tfjs-node${backend === 'gpu' ? '-gpu' : ''}`;
    if (!installed(pkg)) {
      lines.push(`| ${pkg} | not installed here (or its native addon is missing) | | |`);
      continue;
    }
    const r = runJson(process.execPath, ['--import', 'tsx', stepBench, backend, '--steps', '5']);
    if (r) {
      lines.push(
        `| ${backend} | ${(r.samplesPerSec as number).toFixed(1)} | ${(r.medianStepSec as number).toFixed(2)} | ${r.rssMB} |`,
      );
    } else lines.push(`| ${pkg} | fails to load (see above) | | |`);
  }
  process.stdout.write(`\n### cifar10Cnn training step, batch 128\n\n${lines.join('\n')}\n\n`);
  process.stdout.write(`peer (tfjs stock kernels) on wasm: ${peerTfjs('wasm', 1)}\n`);
  if (process.argv.includes('--peer-cpu')) {
    const peer = peerTfjs('cpu', 1);
    process.stdout.write(`peer (tfjs stock kernels) on cpu: ${peer}\n`);
  } else {
    process.stdout.write(
      'peer (tfjs stock kernels) on cpu: not run (minutes per step; --peer-cpu runs it)\n',
    );
  }

  const dir = await ensureCifar();
  const steps = arg('train-steps', '10');
  const out = [
    '| fit() on distortedInputs, wasm | samples/s | input-bound | wait ms/step | peak RSS MB |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const prefetch of ['2', '0']) {
    const r = runNode(inputWorker, [dir, prefetch, steps]);
    out.push(
      `| prefetch ${prefetch === '0' ? 'off' : prefetch} | ${r.samplesPerSec.toFixed(1)} | ${(100 * (r.inputBoundFraction as number)).toFixed(2)}% | ${(r.waitMsPerStep as number).toFixed(1)} | ${r.peakRssMB} |`,
    );
  }
  process.stdout.write(
    `\n### Input-bound share while training (goal ≤ 2% with prefetch)\n\n${out.join('\n')}\n`,
  );
}
