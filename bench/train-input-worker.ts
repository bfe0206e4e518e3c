/**
 * One run of the input-bound measurement: cifar10Cnn trained by fit() on distortedInputs over the
 * full-size CIFAR files, with the given prefetch, on the wasm backend; prints one JSON line with
 * samples/s and the share of step time spent waiting for input (after two warm-up steps, which
 * include filling the 20,000-record shuffle pool).
 *
 *   node --import tsx bench/train-input-worker.ts <cifar dir> <prefetch> <steps> [backend]
 */
import { distortedInputs } from '../src/datasets/cifar.js';
import { fit } from '../src/train/fit.js';
import { stopAtStep } from '../src/train/hooks/stop-at-step.js';
import type { Hook } from '../src/train/hooks/types.js';
import { loadTf, type TfBackendChoice } from '../src/train/load-tf.js';
import { cifar10Cnn } from '../src/train/models.js';
import { tfjsTrainer } from '../src/train/tfjs-trainer.js';

const [dir, prefetchArg = '2', stepsArg = '10', backend = 'wasm'] = process.argv.slice(2);
const prefetch = Number(prefetchArg);
const steps = Number(stepsArg);
const WARMUP = 2;
const runtime = await loadTf({ backends: [backend as TfBackendChoice], log: false });
const trainer = tfjsTrainer(cifar10Cnn({ seed: 1 }), { learningRate: 0.01 });
const batches = await distortedInputs({ path: dir, batchSize: 128, seed: 1, prefetch });
let wait = 0;
let work = 0;
let examples = 0;
let started = 0;
const timing: Hook = {
  afterStep(info) {
    if (info.step === WARMUP) started = performance.now();
    if (info.step <= WARMUP) return;
    wait += info.waitSeconds;
    work += info.stepSeconds;
    examples += info.examples;
  },
};
await fit(batches, trainer, { hooks: [stopAtStep(WARMUP + steps), timing] });
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    backend: runtime.backendName,
    prefetch,
    steps,
    samplesPerSec: examples / seconds,
    stepsPerSec: steps / seconds,
    inputBoundFraction: wait / (wait + work),
    waitMsPerStep: (1000 * wait) / steps,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
trainer.dispose();
