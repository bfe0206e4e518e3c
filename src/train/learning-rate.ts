import { invalidArgument } from '../core/errors.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';

/** A learning rate as a function of the global step. */
export type LearningRateSchedule = (step: number) => number;

export interface ExponentialDecayOptions {
  /** Learning rate at step 0. */
  initial: number;
  /** Steps over which the rate is multiplied by `decayRate` once. */
  decaySteps: number;
  decayRate: number;
  /** Decay in whole periods (a staircase) rather than continuously. */
  staircase?: boolean;
}

/**
 * `tf.train.exponential_decay`: `initial * decayRate ^ (step / decaySteps)`, with the exponent
 * floored when `staircase`. Computed in float64 (TF computes in float32; the two agree to float32
 * precision).
 */
export function exponentialDecay(options: ExponentialDecayOptions): LearningRateSchedule {
  const stage = 'exponentialDecay';
  const opts = objectOption(stage, 'options', options);
  const initial = positiveNumber(stage, 'initial', opts.initial);
  const decaySteps = positiveNumber(stage, 'decaySteps', opts.decaySteps);
  const decayRate = positiveNumber(stage, 'decayRate', opts.decayRate);
  const staircase = booleanOption(stage, 'staircase', opts.staircase, false);
  return (step: number) => {
    if (typeof step !== 'number' || !Number.isFinite(step) || step < 0) {
      throw invalidArgument('step', 'a non-negative finite number', step, stage);
    }
    const p = step / decaySteps;
    return initial * decayRate ** (staircase ? Math.floor(p) : p);
  };
}

/** The CIFAR-10 tutorial's constants (cifar10.py). */
export const CIFAR10_LEARNING_RATE = {
  initial: 0.1,
  numEpochsPerDecay: 350,
  decayFactor: 0.1,
  examplesPerEpoch: 50_000,
} as const;

export interface Cifar10LearningRateOptions {
  batchSize: number;
  /** Training examples per epoch (default 50,000, CIFAR-10's training set). */
  examplesPerEpoch?: number;
}

/**
 * The CIFAR-10 tutorial's schedule: 0.1, divided by 10 every 350 epochs, in steps. As in
 * cifar10.py, `decaySteps = int(examplesPerEpoch / batchSize * 350)` (136,718 at batch 128).
 */
export function cifar10LearningRate(options: Cifar10LearningRateOptions): LearningRateSchedule {
  const stage = 'cifar10LearningRate';
  const opts = objectOption(stage, 'options', options);
  const batchSize = integerOption(stage, 'batchSize', opts.batchSize, { min: 1 });
  const examplesPerEpoch = integerOption(stage, 'examplesPerEpoch', opts.examplesPerEpoch, {
    min: 1,
    defaultValue: CIFAR10_LEARNING_RATE.examplesPerEpoch,
  });
  const decaySteps = Math.trunc((examplesPerEpoch / batchSize) * CIFAR10_LEARNING_RATE.numEpochsPerDecay);
  if (decaySteps < 1) {
    throw invalidArgument(
      'batchSize',
      `at most ${examplesPerEpoch * CIFAR10_LEARNING_RATE.numEpochsPerDecay} (350 epochs of ${examplesPerEpoch} examples must hold a whole batch)`,
      batchSize,
      stage,
    );
  }
  return exponentialDecay({
    initial: CIFAR10_LEARNING_RATE.initial,
    decaySteps,
    decayRate: CIFAR10_LEARNING_RATE.decayFactor,
    staircase: true,
  });
}

function positiveNumber(stage: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(name, 'a positive finite number', value, stage);
  }
  return value;
}
