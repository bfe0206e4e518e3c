/**
 * cifar10_eval.py's precision @ 1 over a batch stream, with a confusion matrix. Batches are scored as
 * they arrive (one batch of logits in memory at a time) and every tensor is freed before the next.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { InputError, invalidArgument } from '../core/errors.js';
import type { Source } from '../core/stream.js';
import { currentTf } from './load-tf.js';
import { isLayersModel } from './model-files.js';
import type { TfjsTrainer } from './tfjs-trainer.js';
import {
  batchField,
  checkClassLabels,
  checkFieldSpec,
  type FieldSpec,
  fieldOption,
  wrapField,
} from './to-tf-dataset.js';

/**
 * TF's `in_top_k(predictions, targets, k=1)` for one row: true when no class has a strictly larger
 * logit than the target's, so a target tied with the top counts as correct; a row holding a NaN or
 * an infinity is never correct (TF's kernel "cannot say").
 */
export function inTopK1(logits: ArrayLike<number>, row: number, numClasses: number, target: number): boolean {
  const base = row * numClasses;
  const t = logits[base + target];
  if (!Number.isFinite(t)) return false;
  for (let c = 0; c < numClasses; c++) {
    const v = logits[base + c];
    if (!Number.isFinite(v)) return false;
    if (v > t) return false;
  }
  return true;
}

export interface ClassScores {
  /** Of the examples predicted as this class, the fraction that are (NaN when none was predicted). */
  precision: number;
  /** Of the examples of this class, the fraction predicted as it (NaN when the class never occurs). */
  recall: number;
  /** Examples of this class. */
  support: number;
}

export interface EvaluationResult {
  /** correct / count: TF's precision @ 1 (in_top_k semantics). */
  precisionAt1: number;
  count: number;
  correct: number;
  /** Rows whose logits held a NaN or an infinity: counted as wrong, and left out of `confusion`. */
  nonFinite: number;
  /**
   * `confusion[true][predicted]`. The predicted class is the true one when in_top_k says correct (a
   * tie with the top resolves to the true class, as in_top_k does), else the first largest logit; so
   * the diagonal sums to `correct`.
   */
  confusion: number[][];
  perClass: ClassScores[];
}

/** Accumulates in_top_k scores and a confusion matrix batch by batch. */
export class ClassificationTally {
  readonly confusion: number[][];
  private readonly support: number[];
  count = 0;
  correct = 0;
  nonFinite = 0;

  constructor(readonly numClasses: number) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw invalidArgument('numClasses', 'a positive integer', numClasses, 'ClassificationTally');
    }
    this.confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
    this.support = new Array<number>(numClasses).fill(0);
  }

  /** Scores `labels.length` rows of `[rows, numClasses]` logits; returns how many were correct. */
  add(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
    const n = this.numClasses;
    if (logits.length !== labels.length * n) {
      throw invalidArgument(
        'logits',
        `${labels.length * n} values (${labels.length} rows of ${n})`,
        logits.length,
        'ClassificationTally',
      );
    }
    let correct = 0;
    for (let r = 0; r < labels.length; r++) {
      const target = labels[r];
      if (!(Number.isInteger(target) && target >= 0 && target < n)) {
        throw invalidArgument(`labels[${r}]`, `a class index in [0, ${n})`, target, 'ClassificationTally');
      }
      this.support[target]++;
      if (inTopK1(logits, r, n, target)) {
        correct++;
        this.confusion[target][target]++;
        continue;
      }
      const predicted = firstMax(logits, r * n, n);
      if (predicted < 0) this.nonFinite++;
      else this.confusion[target][predicted]++;
    }
    this.count += labels.length;
    this.correct += correct;
    return correct;
  }

  result(): EvaluationResult {
    const n = this.numClasses;
    const perClass = Array.from({ length: n }, (_, c) => {
      let predicted = 0;
      for (let t = 0; t < n; t++) predicted += this.confusion[t][c];
      const hit = this.confusion[c][c];
      return {
        precision: predicted === 0 ? Number.NaN : hit / predicted,
        recall: this.support[c] === 0 ? Number.NaN : hit / this.support[c],
        support: this.support[c],
      };
    });
    return {
      precisionAt1: this.count === 0 ? Number.NaN : this.correct / this.count,
      count: this.count,
      correct: this.correct,
      nonFinite: this.nonFinite,
      confusion: this.confusion.map((row) => row.slice()),
      perClass,
    };
  }
}

/** Index of the first largest logit of a row, or -1 when the row holds a non-finite value. */
function firstMax(logits: ArrayLike<number>, base: number, n: number): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < n; c++) {
    const v = logits[base + c];
    if (!Number.isFinite(v)) return -1;
    if (best < 0 || v > bestValue) {
      best = c;
      bestValue = v;
    }
  }
  return best;
}

// --- evaluate over a stream ---------------------------------------------------------------------

export interface EvaluateOptions {
  /** The batch field fed to the model (default: the trainer's, else 'image'). */
  inputs?: string;
  /** The int32 class-label field (default: the trainer's, else 'label'). */
  labels?: string;
  /** Classes (default: the model's output size; when given, it must equal it). */
  numClasses?: number;
  /** Stop after this many batches (the stream is closed), e.g. for an infinite eval pipeline. */
  maxBatches?: number;
}

const STAGE = 'evaluate';

/**
 * Scores a model, or a tfjsTrainer (through its moving-average weights when it keeps them), on a
 * batch stream: precision @ 1 with TF's in_top_k semantics, a confusion matrix and per-class
 * precision and recall. An empty stream is an error (an eval set that yields nothing is a wrong path
 * or filter far more often than an intended no-op).
 */
export async function evaluate(
  modelOrTrainer: tfjs.LayersModel | TfjsTrainer,
  batches: Source<object>,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const trainer = isTrainer(modelOrTrainer) ? modelOrTrainer : undefined;
  const model = trainer ? trainer.model : modelOrTrainer;
  if (!isLayersModel(model)) {
    throw invalidArgument('modelOrTrainer', 'a tf.LayersModel or a tfjsTrainer', modelOrTrainer, STAGE);
  }
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an options object', options, STAGE);
  const inputs = fieldOption(options.inputs, 'inputs', trainer?.inputs ?? 'image', STAGE);
  const labels = fieldOption(options.labels, 'labels', trainer?.labels ?? 'label', STAGE);
  const input = modelInput(model, STAGE);
  const classes = modelClasses(model, STAGE);
  if (options.numClasses !== undefined && options.numClasses !== classes) {
    throw invalidArgument('numClasses', `${classes} (the model's output size)`, options.numClasses, STAGE);
  }
  const maxBatches = options.maxBatches;
  if (maxBatches !== undefined && (!Number.isInteger(maxBatches) || maxBatches < 1)) {
    throw invalidArgument('maxBatches', 'a positive integer', maxBatches, STAGE);
  }
  if (
    typeof batches !== 'object' ||
    batches === null ||
    !(Symbol.asyncIterator in batches || Symbol.iterator in batches)
  ) {
    throw invalidArgument('batches', 'a Stream or an (async) iterable of batches', batches, STAGE);
  }
  const tf = currentTf();
  const tally = new ClassificationTally(classes);
  let seen = 0;
  for await (const batch of batches as AsyncIterable<object>) {
    const x = batchField(batch, inputs, 'inputs', STAGE);
    checkFieldSpec(x, inputs, input, STAGE);
    const y = checkClassLabels(
      batch,
      batchField(batch, labels, 'labels', STAGE),
      labels,
      x.shape[0],
      classes,
      STAGE,
    );
    let logits: tfjs.Tensor;
    if (trainer) {
      logits = trainer.predict(batch, { inputs });
    } else {
      const xs = wrapField(x);
      try {
        logits = tf.tidy(() => model.apply(xs) as tfjs.Tensor);
      } finally {
        xs.dispose();
      }
    }
    try {
      tally.add(await logits.data(), y);
    } finally {
      logits.dispose();
    }
    if (++seen === maxBatches) break;
  }
  if (tally.count === 0) {
    throw new InputError(`${STAGE}: Expected at least one example but the batch stream ended without any`, {
      stage: STAGE,
      parameter: 'batches',
    });
  }
  return tally.result();
}

/** The dtype and shape of the model's one input (and a check that it has one input and one output). */
export function modelInput(model: tfjs.LayersModel, stage: string): FieldSpec {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw invalidArgument(
      'model',
      'a model with one input and one output',
      `a model with ${model.inputs.length} inputs and ${model.outputs.length} outputs`,
      stage,
    );
  }
  const dtype = model.inputs[0].dtype;
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw invalidArgument('model', 'a model with a float32 or int32 input', `a ${dtype} input`, stage);
  }
  return { dtype, shape: model.inputs[0].shape.slice(), origin: "the model's input shape" };
}

/** The class count of a model whose output is `[batch, classes]` logits. */
export function modelClasses(model: tfjs.LayersModel, stage: string): number {
  const out = model.outputs[0].shape;
  const classes = out[out.length - 1];
  if (out.length !== 2 || typeof classes !== 'number') {
    throw invalidArgument(
      'model',
      'a model whose output is [batch, classes] logits',
      `output shape [${out.map((d) => d ?? 'null').join(', ')}]`,
      stage,
    );
  }
  return classes;
}

function isTrainer(value: unknown): value is TfjsTrainer {
  const t = value as Partial<TfjsTrainer> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.withAveragedWeights === 'function' &&
    isLayersModel(t.model)
  );
}
