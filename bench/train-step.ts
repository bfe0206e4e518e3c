/**
 * Times training steps of the CIFAR-10 tutorial CNN (`cifar10Cnn`) on random data: softmax cross-entropy
 * on the logits plus the weight-decay terms, plain SGD through `optimizer.minimize`, the loss read back
 * each step (as a training loop that logs it would). Reports the median step time of `steps` timed steps
 * after `warmup` untimed ones.
 *
 *   npx tsx bench/train-step.ts [wasm|cpu|node|gpu] [--batch 128] [--steps 5] [--warmup 2] [--profile]
 *
 * `--profile` adds a per-kernel breakdown: milliseconds per kernel name in a step, the median of 3 extra
 * profiled steps (tf.profile; kernels that ours compose from others count as one).
 */
import { loadavg } from 'node:os';
import type * as tfjs from '@tensorflow/tfjs';
import { loadTf, type TfBackendChoice } from '../src/train/load-tf.js';
import { cifar10Cnn } from '../src/train/models.js';

const PROFILED_STEPS = 3;

export interface TrainStepBenchOptions {
  backend: TfBackendChoice;
  batchSize?: number;
  steps?: number;
  warmup?: number;
  /** Also time each kernel (medians over 3 extra steps, via tf.profile). */
  profile?: boolean;
}

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

export interface TrainStepBenchResult {
  backend: string;
  samplesPerSec: number;
  medianStepSec: number;
  rssMB: number;
  batchSize: number;
  stepSecs: number[];
  fastKernels: string[];
  /** The 1-minute load average before and after: the machine's other work, for reading the numbers. */
  loadAverage: [number, number];
  kernels?: KernelTime[];
}

export async function trainStepBench({
  backend,
  batchSize = 128,
  steps = 5,
  warmup = 2,
  profile = false,
}: TrainStepBenchOptions): Promise<TrainStepBenchResult> {
  const loadBefore = loadavg()[0];
  const rt = await loadTf({ backends: [backend], log: false });
  if (rt.choice !== backend) {
    throw new Error(`trainStepBench: tfjs is already loaded with '${rt.choice}', not '${backend}'`);
  }
  const tf = rt.tf;
  const model = cifar10Cnn({ seed: 1 });
  const optimizer = tf.train.sgd(0.01);
  const [h, w, c] = [24, 24, 3];
  const x = tf.randomNormal([batchSize, h, w, c], 0, 1, 'float32', 2);
  const labels = tf.randomUniform([batchSize], 0, 10, 'int32', 3);
  const y = tf.oneHot(labels as tfjs.Tensor1D, 10).toFloat();
  const lossFn = () =>
    tf.tidy(() => {
      const logits = model.apply(x, { training: true }) as tfjs.Tensor;
      const ce = tf.losses.softmaxCrossEntropy(y, logits);
      return tf.addN([ce, ...model.calculateLosses()]) as tfjs.Scalar;
    });
  const step = async () => {
    const loss = optimizer.minimize(lossFn, true) as tfjs.Scalar;
    await loss.data();
    loss.dispose();
  };
  const stepSecs: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = process.hrtime.bigint();
    await step();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (i >= warmup) stepSecs.push(dt);
  }
  let kernels: KernelTime[] | undefined;
  if (profile) {
    // Per-kernel medians over a few profiled steps: one step alone is at the mercy of the machine.
    const runs: Map<string, KernelTime>[] = [];
    for (let i = 0; i < PROFILED_STEPS; i++) {
      const info = await tf.profile(step);
      const byName = new Map<string, KernelTime>();
      for (const k of info.kernels) {
        const e = byName.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
        e.ms += Number(k.kernelTimeMs);
        e.calls += 1;
        byName.set(k.name, e);
      }
      runs.push(byName);
    }
    kernels = [...runs[0].values()]
      .map((k) => ({ ...k, ms: round(median(runs.map((r) => r.get(k.kernel)?.ms ?? 0)), 1) }))
      .sort((a, b) => b.ms - a.ms);
  }
  tf.dispose([x, labels, y]);
  model.dispose();
  optimizer.dispose();
  const medianStepSec = median(stepSecs);
  return {
    backend: rt.backendName,
    samplesPerSec: round(batchSize / medianStepSec, 1),
    medianStepSec: round(medianStepSec, 4),
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    batchSize,
    stepSecs: stepSecs.map((s) => round(s, 4)),
    fastKernels: rt.fastKernels,
    loadAverage: [round(loadBefore, 2), round(loadavg()[0], 2)],
    ...(kernels ? { kernels } : {}),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const backend = (
    process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'wasm'
  ) as TfBackendChoice;
  const result = await trainStepBench({
    backend,
    batchSize: flag('batch', 128),
    steps: flag('steps', 5),
    warmup: flag('warmup', 2),
    profile: process.argv.includes('--profile'),
  });
  console.log(JSON.stringify(result));
}
