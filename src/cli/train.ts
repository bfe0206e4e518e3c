/** `inqueue train` and `inqueue eval`: the CIFAR tutorial's cifar10_train.py and cifar10_eval.py. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.js';
import { evalCifar, trainCifar } from '../train/train-cifar.js';
import { parseArgs, UsageError } from './args.js';
import { detectFormat } from './detect.js';

export const TRAIN_HELP = `Usage: inqueue train [path] [--out runs/cifar] [--steps N] [--seconds S] [--batch 128]
                     [--seed 1] [--optimizer sgd|momentum|adam] [--lr RATE] [--checkpoint-every 100]
                     [--prefetch 2] [--eval-batches N] [--fresh] [--no-resume] [--backend gpu|node|wasm|cpu]

Trains the CIFAR-10 tutorial CNN (cifar10Cnn) on distorted_inputs from [path] (a CIFAR-10/100
binary folder or the published .tar.gz; default: the bundled fixture, made by 'npm run fixtures'),
logging loss, examples/s and the input-bound share, writing --out/batch.png (a contact sheet of a
training batch), checkpoints in --out/checkpoints (weights, optimizer, EMA and the input pipeline's
position), --out/summary.csv and --out/loss.png, then prints precision @ 1 on the test split.
A run folder that holds a checkpoint is resumed exactly where it stopped unless --no-resume or --fresh.
--steps is the global step to stop at (default 1,000,000 as the tutorial); --seconds also stops once
that much time has passed. --backend picks the TensorFlow.js backend (default: the best that loads).`;

export const EVAL_HELP = `Usage: inqueue eval [path] --checkpoint DIR [--batch 100] [--eval-batches N]

Scores the latest checkpoint in DIR (a run folder or its checkpoints/ folder) on the test split of
[path] (default: the bundled fixture): precision @ 1 (cifar10_eval.py), per-class precision/recall and
the confusion matrix.`;

const FIXTURE = fileURLToPath(new URL('../../fixtures/cifar-10-batches-bin', import.meta.url));

async function cifarPath(
  positionals: string[],
  command: string,
): Promise<{ path: string; dataset: 'cifar10' | 'cifar100' }> {
  if (positionals.length > 1) throw new UsageError(`${command} takes at most one [path]`);
  const path = positionals[0] ?? FIXTURE;
  if (positionals.length === 0 && !existsSync(path))
    throw new InputError(
      `the bundled fixture ${path} is missing: run 'npm run fixtures' or name a CIFAR folder`,
    );
  const detected = await detectFormat(path);
  if (!detected || (detected.format !== 'cifar10' && detected.format !== 'cifar100'))
    throw new InputError(`no CIFAR-10/100 binary dataset at ${JSON.stringify(path)}`);
  return { path, dataset: detected.format };
}

function positiveInteger(o: Record<string, unknown>, name: string, min = 1): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function useBackend(o: Record<string, unknown>): void {
  if (o.backend === undefined) return;
  if (!['gpu', 'node', 'wasm', 'cpu'].includes(String(o.backend)))
    throw new UsageError(`--backend must be gpu, node, wasm or cpu, got ${JSON.stringify(o.backend)}`);
  process.env.INQUEUE_TF_BACKEND = String(o.backend);
}

export async function trainCommand(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const { positionals, options: o } = parseArgs(argv, {
    out: { type: 'string', default: 'runs/cifar' },
    steps: { type: 'number' },
    seconds: { type: 'number' },
    batch: { type: 'number', default: 128 },
    seed: { type: 'number', default: 1 },
    optimizer: { type: 'string', default: 'sgd' },
    lr: { type: 'number' },
    'checkpoint-every': { type: 'number', default: 100 },
    prefetch: { type: 'number', default: 2 },
    'eval-batches': { type: 'number' },
    fresh: { type: 'flag' },
    'no-resume': { type: 'flag' },
    backend: { type: 'string' },
  });
  useBackend(o);
  if (!['sgd', 'momentum', 'adam'].includes(String(o.optimizer)))
    throw new UsageError(`--optimizer must be sgd, momentum or adam, got ${JSON.stringify(o.optimizer)}`);
  if (o.seconds !== undefined && !(Number(o.seconds) > 0)) throw new UsageError('--seconds must be positive');
  if (o.lr !== undefined && !(Number(o.lr) > 0)) throw new UsageError('--lr must be positive');
  const { path, dataset } = await cifarPath(positionals, 'train');
  const controller = new AbortController();
  const onSignal = () => controller.abort('interrupted');
  process.once('SIGINT', onSignal);
  try {
    const r = await trainCifar({
      path,
      dataset,
      outDir: String(o.out),
      steps: positiveInteger(o, 'steps'),
      seconds: o.seconds === undefined ? undefined : Number(o.seconds),
      batchSize: positiveInteger(o, 'batch'),
      seed: positiveInteger(o, 'seed', 0),
      optimizer: o.optimizer as 'sgd',
      learningRate: o.lr === undefined ? undefined : Number(o.lr),
      checkpointEvery: positiveInteger(o, 'checkpoint-every'),
      prefetch: positiveInteger(o, 'prefetch', 0),
      evalBatches: positiveInteger(o, 'eval-batches', 0),
      fresh: Boolean(o.fresh),
      resume: !o['no-resume'],
      log: out,
      signal: controller.signal,
    });
    out(
      `trained to step ${r.steps} (${r.stepsRun} steps this run${r.resumedFrom === undefined ? '' : `, resumed from ${r.resumedFrom}`}; stopped: ${r.stoppedBy}) ` +
        `at ${r.examplesPerSecond.toFixed(1)} examples/s, input-bound ${(100 * r.inputBoundFraction).toFixed(1)}%, in ${r.seconds.toFixed(1)} s`,
    );
    if (r.checkpoint) out(`checkpoint: ${r.checkpoint}`);
    if (r.evaluation)
      out(
        `test precision @ 1: ${r.evaluation.precisionAt1.toFixed(3)} (chance ${(1 / r.evaluation.confusion.length).toFixed(3)})`,
      );
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

export async function evalCommand(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const { positionals, options: o } = parseArgs(argv, {
    checkpoint: { type: 'string' },
    batch: { type: 'number', default: 100 },
    'eval-batches': { type: 'number' },
    backend: { type: 'string' },
  });
  useBackend(o);
  if (typeof o.checkpoint !== 'string') throw new UsageError('eval needs --checkpoint DIR');
  const { path, dataset } = await cifarPath(positionals, 'eval');
  const r = await evalCifar({
    path,
    dataset,
    checkpoint: o.checkpoint,
    batchSize: positiveInteger(o, 'batch'),
    evalBatches: positiveInteger(o, 'eval-batches', 1),
    log: out,
  });
  out(`step ${r.step}: precision @ 1 = ${r.precisionAt1.toFixed(3)} (${r.correct}/${r.count})`);
  for (const [i, c] of r.perClass.entries())
    out(`  class ${i}: precision ${c.precision.toFixed(3)}, recall ${c.recall.toFixed(3)}`);
  return 0;
}
