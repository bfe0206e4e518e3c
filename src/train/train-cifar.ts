/**
 * The tutorial end to end (cifar10_train.py + cifar10_eval.py) on inqueue's pipeline: distorted
 * inputs → cifar10Cnn → fit with hooks → checkpoint → precision @ 1 on the test split. The demo
 * (`npm run demo`) and `inqueue train` / `inqueue eval` are thin wrappers around these functions.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, invalidArgument } from '../core/errors.js';
import { booleanOption, integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { cifar10, cifar100, distortedInputs, inputs } from '../datasets/cifar.js';
import { contactSheet } from '../inspect/contact-sheet.js';
import { type EvaluationResult, evaluate } from './evaluate.js';
import { fit } from './fit.js';
import { latestCheckpoint, restoreCheckpoint } from './hooks/checkpoint-files.js';
import { checkpointSaver } from './hooks/checkpoint-saver.js';
import { logger } from './hooks/logger.js';
import { nanLoss } from './hooks/nan-loss.js';
import { stopAtStep } from './hooks/stop-at-step.js';
import { summaryWriter } from './hooks/summary-writer.js';
import type { Hook } from './hooks/types.js';
import { cifar10LearningRate } from './learning-rate.js';
import { loadTf } from './load-tf.js';
import { cifar10Cnn } from './models.js';
import { type OptimizerName, type TfjsTrainer, tfjsTrainer } from './tfjs-trainer.js';

export interface TrainCifarOptions {
  /** A CIFAR folder or published archive (see cifar10()). */
  path: string;
  dataset?: 'cifar10' | 'cifar100';
  /** Global step to stop at (default 1,000,000: the tutorial's max_steps). */
  steps?: number;
  /** Also stop once training has run this long (seconds); unset: no time limit. */
  seconds?: number;
  /** Default 128. */
  batchSize?: number;
  /** Seed of the weights, file order, shuffle and distortions (default 1). */
  seed?: number;
  /** Run folder: `checkpoints/`, `summary.csv`, `loss.png`, `batch.png`. */
  outDir: string;
  /** Continue from the run folder's latest checkpoint when there is one (default true). */
  resume?: boolean;
  /** Delete the run folder's checkpoints and summary first (default false). */
  fresh?: boolean;
  /** Default 'sgd' (the tutorial's GradientDescentOptimizer). */
  optimizer?: OptimizerName;
  /** A constant learning rate; unset: the tutorial's schedule (0.1, ×0.1 every 350 epochs). */
  learningRate?: number;
  /** Steps between checkpoints (default 100). */
  checkpointEvery?: number;
  /** Steps per log line (default 10). */
  logEvery?: number;
  /** Raw batches prepared ahead of the model (default 2; 0 turns prefetch off). */
  prefetch?: number;
  /** Test batches evaluated at the end (default: the whole test split); 0 skips evaluation. */
  evalBatches?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface TrainCifarResult {
  /** The loadTf summary line: which backend ran. */
  backend: string;
  /** Global step reached. */
  steps: number;
  stepsRun: number;
  /** The checkpoint step the run continued from, if it did. */
  resumedFrom?: number;
  stoppedBy: string;
  /** Share of step time spent waiting for input, over the run. */
  inputBoundFraction: number;
  examplesPerSecond: number;
  lastLoss?: number;
  checkpoint?: string;
  contactSheet?: string;
  evaluation?: EvaluationResult;
  seconds: number;
}

const STAGE = 'trainCifar';

/** Trains cifar10Cnn on the distorted pipeline, checkpointing and evaluating; see TrainCifarOptions. */
export async function trainCifar(options: TrainCifarOptions): Promise<TrainCifarResult> {
  const started = performance.now();
  const o = parseOptions(options);
  const log = o.log;
  const runtime = await loadTf({ log });
  const ckptDir = join(o.outDir, 'checkpoints');
  if (o.fresh) {
    await rm(ckptDir, { recursive: true, force: true });
    await rm(join(o.outDir, 'summary.csv'), { force: true });
  }
  await mkdir(o.outDir, { recursive: true });
  const ds = await (o.dataset === 'cifar10' ? cifar10 : cifar100)({ path: o.path, split: 'train' });
  const trainer = makeTrainer(ds.classNames.length, ds.examplesPerEpoch, o);
  try {
    const restored = o.resume ? await restoreCheckpoint(ckptDir, trainer) : undefined;
    if (restored) log(`resuming from step ${restored.step} (${ckptDir})`);
    const common = { path: o.path, batchSize: o.batchSize, seed: o.seed, dataset: o.dataset };
    const resume = restored?.inputPosition as never;
    const sheet = join(o.outDir, 'batch.png');
    await writeBatchSheet(await distortedInputs({ ...common, resume, prefetch: 0 }), sheet, ds.classNames);
    log(`wrote ${sheet}`);
    const batches = await distortedInputs({ ...common, resume, prefetch: o.prefetch });
    const progress = logger({ every: o.logEvery, log });
    const saver = checkpointSaver({ dir: ckptDir, everySteps: o.checkpointEvery, keep: 3 });
    const hooks: Hook[] = [
      stopAtStep(o.steps),
      nanLoss(),
      progress,
      saver,
      summaryWriter({ dir: o.outDir }),
      ...(o.seconds === undefined ? [] : [stopAfterSeconds(o.seconds)]),
    ];
    const run = await fit(batches, trainer, { hooks, signal: o.signal, initialStep: restored?.step ?? 0 });
    const total = progress.total;
    const result: TrainCifarResult = {
      backend: runtime.summary,
      steps: run.steps,
      stepsRun: run.stepsRun,
      ...(restored ? { resumedFrom: restored.step } : {}),
      stoppedBy: run.reason ?? run.stoppedBy,
      inputBoundFraction: total?.inputBoundFraction ?? 0,
      examplesPerSecond: total?.examplesPerSecond ?? 0,
      lastLoss: run.lastLoss,
      checkpoint: saver.lastSaved?.path,
      contactSheet: sheet,
      seconds: 0,
    };
    if (o.evalBatches !== 0) {
      result.evaluation = await evaluateCifar(trainer, o);
      log(
        `precision @ 1 = ${result.evaluation.precisionAt1.toFixed(3)} (${result.evaluation.count} test images)`,
      );
    }
    result.seconds = (performance.now() - started) / 1000;
    return result;
  } finally {
    disposeTrainer(trainer);
  }
}

export interface EvalCifarOptions {
  path: string;
  dataset?: 'cifar10' | 'cifar100';
  /** A run folder (its `checkpoints/`) or a checkpoints folder. */
  checkpoint: string;
  batchSize?: number;
  /** Test batches to score (default: all). */
  evalBatches?: number;
  log?: (line: string) => void;
}

/** cifar10_eval.py: precision @ 1 of the latest checkpoint on the test split. */
export async function evalCifar(options: EvalCifarOptions): Promise<EvaluationResult & { step: number }> {
  const o = objectOption(STAGE, 'options', options) as unknown as EvalCifarOptions;
  const log = o.log ?? console.log;
  const dataset = oneOfOption(STAGE, 'dataset', o.dataset, ['cifar10', 'cifar100'] as const, 'cifar10');
  if (typeof o.checkpoint !== 'string')
    throw invalidArgument('checkpoint', 'a run or checkpoints folder', o.checkpoint, STAGE);
  const batchSize = integerOption(STAGE, 'batchSize', o.batchSize, { min: 1, defaultValue: 100 });
  const evalBatches =
    o.evalBatches === undefined ? undefined : integerOption(STAGE, 'evalBatches', o.evalBatches, { min: 1 });
  const dir = (await latestCheckpoint(join(o.checkpoint, 'checkpoints')))
    ? join(o.checkpoint, 'checkpoints')
    : o.checkpoint;
  const latest = await latestCheckpoint(dir);
  if (!latest) throw invalidArgument('checkpoint', 'a folder holding a checkpoint', o.checkpoint, STAGE);
  // Built as the checkpoint was trained (optimizer, moving averages), or load() refuses it.
  const saved = await savedTrainerOptions(latest.path);
  await loadTf({ log });
  const ds = await (dataset === 'cifar10' ? cifar10 : cifar100)({ path: o.path, split: 'test' });
  const trainer = makeTrainer(ds.classNames.length, ds.examplesPerEpoch, {
    seed: 1,
    batchSize: 128,
    ...saved,
  });
  try {
    const restored = await restoreCheckpoint(dir, trainer);
    if (!restored) throw invalidArgument('checkpoint', 'a folder holding a checkpoint', o.checkpoint, STAGE);
    log(`evaluating the checkpoint of step ${restored.step} (${dir})`);
    const evaluation = await evaluateCifar(trainer, { path: o.path, dataset, batchSize, evalBatches });
    return { ...evaluation, step: restored.step };
  } finally {
    disposeTrainer(trainer);
  }
}

type Parsed = Required<
  Omit<TrainCifarOptions, 'seconds' | 'learningRate' | 'evalBatches' | 'signal' | 'log'>
> &
  Pick<TrainCifarOptions, 'seconds' | 'learningRate' | 'evalBatches' | 'signal'> & {
    log: (line: string) => void;
  };

function parseOptions(options: TrainCifarOptions): Parsed {
  const o = objectOption(STAGE, 'options', options) as unknown as TrainCifarOptions;
  if (typeof o.path !== 'string' || o.path === '')
    throw invalidArgument('path', 'a CIFAR folder or archive', o.path, STAGE);
  if (typeof o.outDir !== 'string' || o.outDir === '')
    throw invalidArgument('outDir', 'a run folder path', o.outDir, STAGE);
  if (o.seconds !== undefined && !(typeof o.seconds === 'number' && o.seconds > 0))
    throw invalidArgument('seconds', 'a positive number', o.seconds, STAGE);
  if (o.learningRate !== undefined && !(typeof o.learningRate === 'number' && o.learningRate > 0))
    throw invalidArgument('learningRate', 'a positive number', o.learningRate, STAGE);
  return {
    path: o.path,
    outDir: o.outDir,
    dataset: oneOfOption(STAGE, 'dataset', o.dataset, ['cifar10', 'cifar100'] as const, 'cifar10'),
    steps: integerOption(STAGE, 'steps', o.steps, { min: 1, defaultValue: 1_000_000 }),
    seconds: o.seconds,
    batchSize: integerOption(STAGE, 'batchSize', o.batchSize, { min: 1, defaultValue: 128 }),
    seed: integerOption(STAGE, 'seed', o.seed, { min: 0, defaultValue: 1 }),
    resume: booleanOption(STAGE, 'resume', o.resume, true),
    fresh: booleanOption(STAGE, 'fresh', o.fresh, false),
    optimizer: oneOfOption(STAGE, 'optimizer', o.optimizer, ['sgd', 'momentum', 'adam'] as const, 'sgd'),
    learningRate: o.learningRate,
    checkpointEvery: integerOption(STAGE, 'checkpointEvery', o.checkpointEvery, {
      min: 1,
      defaultValue: 100,
    }),
    logEvery: integerOption(STAGE, 'logEvery', o.logEvery, { min: 1, defaultValue: 10 }),
    prefetch: integerOption(STAGE, 'prefetch', o.prefetch, { min: 0, defaultValue: 2 }),
    evalBatches:
      o.evalBatches === undefined
        ? undefined
        : integerOption(STAGE, 'evalBatches', o.evalBatches, { min: 0 }),
    signal: o.signal,
    log: o.log ?? console.log,
  };
}

interface TrainerChoice {
  seed: number;
  batchSize: number;
  optimizer?: OptimizerName;
  learningRate?: number;
  /** null: none kept. */
  movingAverageDecay?: number | null;
}

function makeTrainer(numClasses: number, examplesPerEpoch: number, o: TrainerChoice): TfjsTrainer {
  const model = cifar10Cnn({ numClasses, seed: o.seed });
  const decay = o.movingAverageDecay === undefined ? 0.9999 : o.movingAverageDecay;
  return tfjsTrainer(model, {
    optimizer: o.optimizer ?? 'sgd',
    learningRate: o.learningRate ?? cifar10LearningRate({ batchSize: o.batchSize, examplesPerEpoch }),
    ...(decay === null ? {} : { movingAverageDecay: decay }),
  });
}

/** The trainer and the model it built (trainer.dispose() leaves a model it was given alone). */
function disposeTrainer(trainer: TfjsTrainer): void {
  trainer.dispose();
  trainer.model.dispose();
}

const OPTIMIZER_NAMES: Record<string, OptimizerName> = { SGD: 'sgd', Momentum: 'momentum', Adam: 'adam' };

/** The optimizer and moving-average decay a checkpoint's trainer.json records. */
async function savedTrainerOptions(
  path: string,
): Promise<Pick<TrainerChoice, 'optimizer' | 'movingAverageDecay'>> {
  const file = join(path, 'trainer.json');
  let json: { optimizer?: string; movingAverageDecay?: number | null };
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(
      `${STAGE}: Expected a readable trainer.json at ${JSON.stringify(file)}: ${(err as Error).message}`,
      { file, stage: STAGE, parameter: 'checkpoint', cause: err },
    );
  }
  const optimizer = OPTIMIZER_NAMES[json.optimizer ?? ''];
  if (!optimizer) {
    throw new InputError(
      `${STAGE}: Expected a checkpoint trained with sgd, momentum or adam but ${JSON.stringify(file)} names ${JSON.stringify(json.optimizer)}`,
      { file, stage: STAGE, parameter: 'checkpoint' },
    );
  }
  return { optimizer, movingAverageDecay: json.movingAverageDecay ?? null };
}

async function evaluateCifar(
  trainer: TfjsTrainer,
  o: { path: string; dataset: 'cifar10' | 'cifar100'; batchSize: number; evalBatches?: number },
): Promise<EvaluationResult> {
  const test = await inputs({
    path: o.path,
    evalData: true,
    batchSize: Math.min(o.batchSize, 100),
    dataset: o.dataset,
  });
  return evaluate(trainer, test, o.evalBatches === undefined ? {} : { maxBatches: o.evalBatches });
}

async function writeBatchSheet(
  batches: AsyncIterable<object>,
  out: string,
  classNames: string[],
): Promise<void> {
  for await (const b of batches) {
    await contactSheet(b, { out, classNames, columns: 16 });
    return;
  }
}

/** Stops the run once `seconds` have passed since it began (a time budget, e.g. for the demo). */
export function stopAfterSeconds(seconds: number): Hook {
  let start = 0;
  return {
    begin() {
      start = performance.now();
    },
    afterStep(_info, ctx) {
      if ((performance.now() - start) / 1000 >= seconds) ctx.stop(`time budget of ${seconds} s spent`);
    },
  };
}
