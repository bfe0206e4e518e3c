/**
 * A Trainer around a tfjs LayersModel: one optimizer step per batch, the tutorial's total loss
 * (cross-entropy plus the model's weight-decay terms), an optional exponential moving average of the
 * weights for evaluation, and checkpoints that resume bit for bit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { DecodeError, InputError, invalidArgument, NotFoundError } from '../core/errors.js';
import { inTopK1, modelClasses, modelInput } from './evaluate.js';
import { currentTf, type TfNamespace } from './load-tf.js';
import {
  isLayersModel,
  loadNamedTensors,
  loadWeightsInto,
  type NamedTensor,
  saveModel,
  saveNamedTensors,
  writeFileAtomically,
} from './model-files.js';
import {
  batchField,
  checkClassLabels,
  checkFieldSpec,
  describeField,
  type FieldSpec,
  fieldOption,
  wrapField,
} from './to-tf-dataset.js';
import type { StepResult, Trainer } from './trainer.js';

export type OptimizerName = 'sgd' | 'momentum' | 'adam';
/** A fixed rate, or the rate for a global step (the number of steps already taken). */
export type LearningRate = number | ((globalStep: number) => number);
/** `labels` is the batch's labels field as a tensor (int32 `[B]` for class indices). */
export type LossFunction = (labels: tfjs.Tensor, logits: tfjs.Tensor) => tfjs.Scalar;

export interface TfjsTrainerOptions {
  /** The batch field fed to the model (default 'image'). */
  inputs?: string;
  /** The batch field of targets (default 'label'). */
  labels?: string;
  /** 'sgd' (default), 'momentum', 'adam', or a tf.Optimizer the caller owns. */
  optimizer?: OptimizerName | tfjs.Optimizer;
  /**
   * Default 0.01 for sgd and momentum, 0.001 for adam (Keras's defaults); with a tf.Optimizer, its own
   * rate unless given. A function is called before every step with the global step.
   */
  learningRate?: LearningRate;
  /** Momentum of optimizer 'momentum' (default 0.9). */
  momentum?: number;
  /** 'softmaxCrossEntropy' (default): mean sparse softmax cross-entropy of int32 labels on logits. */
  loss?: 'softmaxCrossEntropy' | LossFunction;
  /**
   * Keep an exponential moving average of the trainable weights, TF's ExponentialMovingAverage with
   * `num_updates` = the global step: decay = min(movingAverageDecay, (1 + step) / (10 + step)). The
   * tutorial uses 0.9999. evaluate and predict then use the averaged weights.
   */
  movingAverageDecay?: number;
  /** Add the model's regularization losses (kernelRegularizer etc.) to the loss (default true). */
  includeRegularization?: boolean;
}

export interface TfjsEvaluation {
  [metric: string]: number;
  /** Rows whose label is in the top 1 (in_top_k); 0 when the labels are not class indices. */
  correct: number;
  count: number;
  /** The data loss (without regularization) on this batch. */
  loss: number;
}

export interface TfjsTrainer extends Trainer<object> {
  readonly model: tfjs.LayersModel;
  readonly optimizer: tfjs.Optimizer;
  readonly inputs: string;
  readonly labels: string;
  /** The model's output size when it is `[batch, classes]`, else undefined. */
  readonly numClasses: number | undefined;
  /** `{ loss, accuracy }`: the total loss and, for class labels, the batch's precision @ 1. */
  step(batch: object): Promise<StepResult>;
  evaluate(batch: object): Promise<TfjsEvaluation>;
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
  learningRate(): number;
  /** Steps taken (restored by load). */
  globalStep(): number;
  /** The model's output for a batch (averaged weights when kept); the caller disposes it. */
  predict(batch: object, options?: { inputs?: string }): tfjs.Tensor;
  /**
   * Runs synchronous `fn` with the averaged weights in the model (plain `fn()` without
   * movingAverageDecay), restoring the trained weights afterwards. The swap re-points the model's
   * variables, it copies nothing.
   */
  withAveragedWeights<T>(fn: () => T): T;
  dispose(): void;
}

const STAGE = 'tfjsTrainer';
const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'adam'];
const DEFAULT_RATE: Record<OptimizerName, number> = { sgd: 0.01, momentum: 0.01, adam: 0.001 };
/** Optimizer fields a setWeights does not restore exactly (Adam recomputes accBeta* with pow). */
const EXTRA_OPTIMIZER_STATE = ['accBeta1', 'accBeta2'] as const;
const EXTRA_PREFIX = 'inqueue:';
const TRAINER_JSON = 'trainer.json';
const OPTIMIZER_BIN = 'optimizer.bin';
const EMA_BIN = 'ema.bin';
const FORMAT = 'inqueue-tfjs-trainer';

export function tfjsTrainer(model: tfjs.LayersModel, options: TfjsTrainerOptions = {}): TfjsTrainer {
  if (!isLayersModel(model)) throw invalidArgument('model', 'a tf.LayersModel', model, STAGE);
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an options object', options, STAGE);
  return new TfjsTrainerImpl(model, options);
}

interface TrainerJson {
  format: string;
  version: number;
  globalStep: number;
  optimizer: string;
  learningRate: number;
  movingAverageDecay: number | null;
  loss: string;
  inputs: string;
  labels: string;
  includeRegularization: boolean;
  backend: string;
}

class TfjsTrainerImpl implements TfjsTrainer {
  readonly optimizer: tfjs.Optimizer;
  readonly inputs: string;
  readonly labels: string;
  readonly numClasses: number | undefined;
  private readonly tf = currentTf();
  private readonly input: FieldSpec;
  private readonly ownsOptimizer: boolean;
  private readonly rate: LearningRate | undefined;
  private readonly loss: LossFunction;
  private readonly lossName: string;
  private readonly decay: number | undefined;
  private readonly includeRegularization: boolean;
  private shadows: tfjs.Variable[] | undefined;
  private step_ = 0;
  private appliedRate: number | undefined;
  private busy = false;
  private disposed = false;

  constructor(
    readonly model: tfjs.LayersModel,
    o: TfjsTrainerOptions,
  ) {
    const tf = this.tf;
    this.inputs = fieldOption(o.inputs, 'inputs', 'image', STAGE);
    this.labels = fieldOption(o.labels, 'labels', 'label', STAGE);
    this.input = modelInput(model, STAGE);
    const out = model.outputs[0].shape;
    this.numClasses = out.length === 2 && typeof out[1] === 'number' ? out[1] : undefined;

    if (o.loss === undefined || o.loss === 'softmaxCrossEntropy') {
      const classes = modelClasses(model, STAGE); // logits needed
      this.lossName = 'softmaxCrossEntropy';
      this.loss = (labels, logits) =>
        tf.losses.softmaxCrossEntropy(
          tf.oneHot(labels as tfjs.Tensor1D, classes).toFloat(),
          logits,
        ) as tfjs.Scalar;
    } else if (typeof o.loss === 'function') {
      this.lossName = 'custom';
      this.loss = o.loss;
    } else {
      throw invalidArgument(
        'loss',
        "'softmaxCrossEntropy' or a function (labels, logits) => tf.Scalar",
        o.loss,
        STAGE,
      );
    }

    if (
      o.learningRate !== undefined &&
      typeof o.learningRate !== 'function' &&
      !(isFiniteNumber(o.learningRate) && o.learningRate >= 0)
    ) {
      throw invalidArgument(
        'learningRate',
        'a non-negative number or a function of the global step',
        o.learningRate,
        STAGE,
      );
    }
    const decay = o.movingAverageDecay;
    if (decay !== undefined && !(isFiniteNumber(decay) && decay > 0 && decay < 1)) {
      throw invalidArgument('movingAverageDecay', 'a number in (0, 1), e.g. 0.9999', decay, STAGE);
    }
    this.decay = decay;
    if (o.includeRegularization !== undefined && typeof o.includeRegularization !== 'boolean') {
      throw invalidArgument('includeRegularization', 'a boolean', o.includeRegularization, STAGE);
    }
    this.includeRegularization = o.includeRegularization ?? true;
    // Validate everything before the optimizer exists: a throw after it would leak its tensors.
    const name = o.optimizer ?? 'sgd';
    if (typeof name === 'string') {
      if (!OPTIMIZERS.includes(name)) {
        throw invalidArgument(
          'optimizer',
          `one of ${OPTIMIZERS.map((n) => `'${n}'`).join(', ')} or a tf.Optimizer`,
          name,
          STAGE,
        );
      }
      if (
        o.momentum !== undefined &&
        (name !== 'momentum' || !(isFiniteNumber(o.momentum) && o.momentum >= 0 && o.momentum < 1))
      ) {
        throw invalidArgument(
          'momentum',
          name === 'momentum' ? 'a number in [0, 1)' : "no value (momentum applies to optimizer 'momentum')",
          o.momentum,
          STAGE,
        );
      }
      this.rate = o.learningRate ?? DEFAULT_RATE[name];
      const first = this.rateAt(0);
      this.optimizer =
        name === 'sgd'
          ? tf.train.sgd(first)
          : name === 'momentum'
            ? tf.train.momentum(first, o.momentum ?? 0.9)
            : tf.train.adam(first);
      this.appliedRate = first;
      this.ownsOptimizer = true;
    } else if (name instanceof tf.Optimizer) {
      if (o.momentum !== undefined)
        throw invalidArgument(
          'momentum',
          'no value with a tf.Optimizer (set it on the optimizer)',
          o.momentum,
          STAGE,
        );
      this.optimizer = name;
      this.rate = o.learningRate;
      this.ownsOptimizer = false;
    } else {
      throw invalidArgument(
        'optimizer',
        `one of ${OPTIMIZERS.map((n) => `'${n}'`).join(', ')} or a tf.Optimizer`,
        name,
        STAGE,
      );
    }

    // TF initializes each average to its variable's initial value; sharing the data is a copy-free start.
    if (decay !== undefined) this.shadows = this.trainableVariables().map((v) => tf.variable(v, false));
  }

  globalStep(): number {
    return this.step_;
  }

  learningRate(): number {
    this.open('learningRate');
    if (this.rate !== undefined) return this.rateAt(this.step_);
    const own = (this.optimizer as unknown as { learningRate?: unknown }).learningRate;
    return typeof own === 'number' ? own : Number.NaN;
  }

  async step(batch: object): Promise<StepResult> {
    this.open('step');
    if (this.busy) {
      throw new InputError(`${STAGE}: step called before the previous step resolved; await each step`, {
        stage: STAGE,
      });
    }
    const tf = this.tf;
    const { x, y, classLabels } = this.tensors(batch);
    let logits: tfjs.Tensor | undefined;
    let cost: tfjs.Scalar | null = null;
    this.busy = true;
    try {
      this.applyRate();
      const vars = this.trainableVariables();
      cost = tf.tidy(
        () =>
          this.optimizer.minimize(
            () => {
              const out = this.model.apply(x, { training: true }) as tfjs.Tensor;
              logits = tf.keep(out);
              return this.totalLoss(y, out);
            },
            true,
            vars,
          ) as tfjs.Scalar,
      );
      this.step_++;
      this.updateAverages();
      const [lossValue, logitValues] = await Promise.all([
        (cost as tfjs.Scalar).data(),
        classLabels ? (logits as unknown as tfjs.Tensor).data() : undefined,
      ]);
      const result: StepResult = { loss: lossValue[0] };
      if (classLabels && logitValues)
        result.accuracy =
          countInTop1(logitValues, classLabels, this.numClasses as number) / classLabels.length;
      return result;
    } finally {
      this.busy = false;
      tf.dispose([x, y]);
      cost?.dispose();
      (logits as tfjs.Tensor | undefined)?.dispose();
    }
  }

  async evaluate(batch: object): Promise<TfjsEvaluation> {
    this.open('evaluate');
    const tf = this.tf;
    const { x, y, classLabels } = this.tensors(batch);
    try {
      const [logits, loss] = this.withAveragedWeights(() =>
        tf.tidy(() => {
          const out = this.model.apply(x) as tfjs.Tensor;
          return [out, this.loss(y, out)] as const;
        }),
      );
      try {
        const [lossValue, logitValues] = await Promise.all([loss.data(), logits.data()]);
        const count = x.shape[0];
        const correct = classLabels ? countInTop1(logitValues, classLabels, this.numClasses as number) : 0;
        return { correct, count, loss: lossValue[0] };
      } finally {
        tf.dispose([logits, loss]);
      }
    } finally {
      tf.dispose([x, y]);
    }
  }

  predict(batch: object, options: { inputs?: string } = {}): tfjs.Tensor {
    this.open('predict');
    const field = fieldOption(options?.inputs, 'inputs', this.inputs, STAGE);
    const value = batchField(batch, field, 'inputs', STAGE);
    checkFieldSpec(value, field, this.input, STAGE);
    const x = wrapField(value);
    try {
      return this.withAveragedWeights(() => this.tf.tidy(() => this.model.apply(x) as tfjs.Tensor));
    } finally {
      x.dispose();
    }
  }

  withAveragedWeights<T>(fn: () => T): T {
    this.open('withAveragedWeights');
    const shadows = this.shadows;
    if (!shadows) return fn();
    const tf = this.tf;
    const vars = this.trainableVariables();
    this.checkShadows(vars);
    const trained = vars.map((v) => tf.clone(v)); // holds the trained data while the variables point elsewhere
    let result: T;
    try {
      vars.forEach((v, i) => {
        v.assign(shadows[i]);
      });
      result = fn();
    } finally {
      vars.forEach((v, i) => {
        v.assign(trained[i]);
      });
      tf.dispose(trained);
    }
    if (typeof (result as { then?: unknown })?.then === 'function') {
      throw invalidArgument(
        'fn',
        'a synchronous function (the weights are restored when it returns)',
        'a promise',
        STAGE,
      );
    }
    return result;
  }

  async save(dir: string): Promise<void> {
    this.open('save');
    if (typeof dir !== 'string' || dir === '')
      throw invalidArgument('dir', 'a folder path', dir, `${STAGE}.save`);
    const tf = this.tf;
    await saveModel(this.model, dir);
    const state = await this.optimizer.getWeights();
    const extras = this.extraOptimizerState();
    try {
      await saveNamedTensors(
        [...state, ...extras.map(([k, v]) => ({ name: EXTRA_PREFIX + k, tensor: v }))],
        join(dir, OPTIMIZER_BIN),
      );
    } finally {
      // getWeights makes the iteration counter afresh; the rest are the optimizer's own variables.
      tf.dispose(state.filter((s) => !(s.tensor instanceof tf.Variable)).map((s) => s.tensor));
    }
    if (this.shadows) {
      const names = this.trainableVariables().map((v, i) => `${i}:${v.name}`);
      await saveNamedTensors(
        this.shadows.map((s, i) => ({ name: names[i] ?? String(i), tensor: s })),
        join(dir, EMA_BIN),
      );
    }
    const json: TrainerJson = {
      format: FORMAT,
      version: 1,
      globalStep: this.step_,
      optimizer: this.optimizer.getClassName(),
      learningRate: this.learningRate(),
      movingAverageDecay: this.decay ?? null,
      loss: this.lossName,
      inputs: this.inputs,
      labels: this.labels,
      includeRegularization: this.includeRegularization,
      backend: tf.getBackend(),
    };
    // Last, so a folder with trainer.json always has the rest.
    await writeFileAtomically(join(dir, TRAINER_JSON), `${JSON.stringify(json, null, 2)}\n`);
  }

  async load(dir: string): Promise<void> {
    this.open('load');
    const stage = `${STAGE}.load`;
    if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'a folder path', dir, stage);
    const tf = this.tf;
    const json = await readTrainerJson(join(dir, TRAINER_JSON), stage);
    const file = join(dir, TRAINER_JSON);
    const className = this.optimizer.getClassName();
    if (json.optimizer !== className) {
      throw new DecodeError(
        `${stage}: ${file} was saved with optimizer ${json.optimizer} but this trainer uses ${className}`,
        {
          stage,
          file,
        },
      );
    }
    if ((json.movingAverageDecay === null) !== (this.decay === undefined)) {
      throw new DecodeError(
        `${stage}: ${file} was saved ${json.movingAverageDecay === null ? 'without' : 'with'} movingAverageDecay but this trainer runs ${this.decay === undefined ? 'without' : 'with'} it`,
        { stage, file },
      );
    }
    const vars = this.trainableVariables();
    const optimizerState = await loadNamedTensors(join(dir, OPTIMIZER_BIN));
    const averages = this.shadows
      ? await loadNamedTensors(join(dir, EMA_BIN)).catch(disposeAnd(optimizerState, tf))
      : [];
    try {
      const extras = optimizerState.filter((s) => s.name.startsWith(EXTRA_PREFIX));
      const weights = optimizerState.filter((s) => !s.name.startsWith(EXTRA_PREFIX));
      checkOptimizerState(weights, className, vars, join(dir, OPTIMIZER_BIN), stage);
      if (this.shadows) checkShapes(averages, vars, join(dir, EMA_BIN), stage, 'moving averages');
      await loadWeightsInto(this.model, dir);
      // setWeights replaces the optimizer's variables without freeing them: free them first.
      const old = await this.optimizer.getWeights();
      tf.dispose(old.map((s) => s.tensor));
      await this.optimizer.setWeights(weights);
      const own = this.optimizer as unknown as Record<string, unknown>;
      for (const e of extras) {
        const target = own[e.name.slice(EXTRA_PREFIX.length)];
        if (target instanceof tf.Variable) target.assign(e.tensor);
      }
      this.shadows?.forEach((s, i) => {
        s.assign(averages[i].tensor);
      });
      this.step_ = json.globalStep;
      this.appliedRate = undefined;
    } finally {
      // The optimizer's and the averages' variables share these tensors' data; disposing drops our reference.
      tf.dispose([...optimizerState, ...averages].map((s) => s.tensor));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsOptimizer) this.optimizer.dispose();
    if (this.shadows) this.tf.dispose(this.shadows);
    this.shadows = undefined;
  }

  // --- internals -----------------------------------------------------------------------------

  private open(what: string): void {
    if (this.disposed) throw new InputError(`${STAGE}: ${what} called after dispose()`, { stage: STAGE });
  }

  private trainableVariables(): tfjs.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tfjs.Variable);
  }

  private rateAt(step: number): number {
    const rate = this.rate;
    const value = typeof rate === 'function' ? rate(step) : rate;
    if (!(isFiniteNumber(value) && value >= 0)) {
      throw invalidArgument(`learningRate(${step})`, 'a non-negative finite number', value, STAGE);
    }
    return value;
  }

  private applyRate(): void {
    if (this.rate === undefined) return;
    const value = this.rateAt(this.step_);
    if (value === this.appliedRate) return;
    const opt = this.optimizer as unknown as { setLearningRate?: (r: number) => void; learningRate?: number };
    // SGD and momentum keep the rate in a scalar tensor that only setLearningRate renews.
    if (typeof opt.setLearningRate === 'function') opt.setLearningRate(value);
    else opt.learningRate = value;
    this.appliedRate = value;
  }

  private tensors(batch: object): { x: tfjs.Tensor; y: tfjs.Tensor; classLabels: Int32Array | undefined } {
    const xv = batchField(batch, this.inputs, 'inputs', STAGE);
    checkFieldSpec(xv, this.inputs, this.input, STAGE);
    const rows = xv.shape[0];
    const yv = batchField(batch, this.labels, 'labels', STAGE);
    let classLabels: Int32Array | undefined;
    if (this.lossName === 'softmaxCrossEntropy') {
      classLabels = checkClassLabels(batch, yv, this.labels, rows, this.numClasses as number, STAGE);
    } else if ((yv.dtype !== 'float32' && yv.dtype !== 'int32') || yv.shape[0] !== rows) {
      throw new DecodeError(
        `${STAGE}: Expected a float32 or int32 tensor with ${rows} rows (one per example of field ${this.inputs}) for field ${this.labels} but received ${describeField(yv)}`,
        { stage: STAGE, parameter: this.labels },
      );
    } else if (this.numClasses !== undefined && yv.dtype === 'int32' && yv.shape.length === 1) {
      classLabels = checkClassLabels(batch, yv, this.labels, rows, this.numClasses, STAGE);
    }
    return { x: wrapField(xv), y: wrapField(yv), classLabels };
  }

  private totalLoss(labels: tfjs.Tensor, logits: tfjs.Tensor): tfjs.Scalar {
    const tf = this.tf;
    let total = this.loss(labels, logits);
    if (this.includeRegularization) {
      for (const term of this.model.calculateLosses()) total = tf.add(total, term);
    }
    return total;
  }

  /** TF's `shadow -= (1 - decay) * (shadow - variable)` with decay = min(d, (1 + n) / (10 + n)), float32. */
  private updateAverages(): void {
    const shadows = this.shadows;
    if (!shadows) return;
    const tf = this.tf;
    const f = Math.fround;
    const n = this.step_;
    const decay = f(Math.min(f(this.decay as number), f(f(1 + n) / f(10 + n))));
    const vars = this.trainableVariables();
    this.checkShadows(vars);
    tf.tidy(() => {
      const oneMinusDecay = tf.scalar(f(1 - decay));
      shadows.forEach((s, i) => {
        s.assign(tf.sub(s, tf.mul(tf.sub(s, vars[i]), oneMinusDecay)));
      });
    });
  }

  private checkShadows(vars: tfjs.Variable[]): void {
    const shadows = this.shadows as tfjs.Variable[];
    if (vars.length !== shadows.length || vars.some((v, i) => !sameShape(v.shape, shadows[i].shape))) {
      throw new InputError(
        `${STAGE}: the model's trainable weights changed since the trainer was made (${shadows.length} averaged, ${vars.length} now); make a new trainer`,
        { stage: STAGE },
      );
    }
  }

  private extraOptimizerState(): [string, tfjs.Variable][] {
    const own = this.optimizer as unknown as Record<string, unknown>;
    const out: [string, tfjs.Variable][] = [];
    for (const k of EXTRA_OPTIMIZER_STATE) {
      const v = own[k];
      if (v instanceof this.tf.Variable) out.push([k, v]);
    }
    return out;
  }
}

/** Correct rows of `[labels.length, numClasses]` logits under in_top_k(k = 1). */
function countInTop1(logits: ArrayLike<number>, labels: Int32Array, numClasses: number): number {
  let correct = 0;
  for (let r = 0; r < labels.length; r++) if (inTopK1(logits, r, numClasses, labels[r])) correct++;
  return correct;
}

async function readTrainerJson(file: string, stage: string): Promise<TrainerJson> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new NotFoundError(
      `${stage}: Expected a trainer checkpoint with ${TRAINER_JSON} at ${file} but it cannot be read (${(err as { code?: string }).code ?? err})`,
      {
        stage,
        file,
        cause: err,
      },
    );
  }
  let json: TrainerJson;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DecodeError(`${stage}: ${file} is not valid JSON: ${(err as Error).message}`, {
      stage,
      file,
      cause: err,
    });
  }
  if (
    json?.format !== FORMAT ||
    json.version !== 1 ||
    !Number.isInteger(json.globalStep) ||
    json.globalStep < 0
  ) {
    throw new DecodeError(
      `${stage}: ${file} is not a tfjsTrainer checkpoint (format ${JSON.stringify(json?.format)}, globalStep ${JSON.stringify(json?.globalStep)})`,
      { stage, file },
    );
  }
  return json;
}

/** The counts and shapes the built-in optimizers' getWeights produce, checked before anything changes. */
function checkOptimizerState(
  state: NamedTensor[],
  className: string,
  vars: tfjs.Variable[],
  file: string,
  stage: string,
): void {
  if (state[0]?.name !== 'iter') {
    throw new DecodeError(`${stage}: ${file} does not start with the optimizer's iteration count`, {
      stage,
      file,
    });
  }
  const slots = state.slice(1);
  const perVariable =
    className === 'SGD' ? 0 : className === 'Momentum' ? 1 : className === 'Adam' ? 2 : undefined;
  if (perVariable === undefined) return; // another optimizer: its setWeights judges
  if (slots.length === 0) return; // saved before the first step
  if (slots.length !== perVariable * vars.length) {
    throw new DecodeError(
      `${stage}: ${file} holds ${slots.length} ${className} slot variables but the model's ${vars.length} trainable weights need ${perVariable * vars.length}`,
      { stage, file },
    );
  }
  for (let k = 0; k < perVariable; k++)
    checkShapes(slots.slice(k * vars.length, (k + 1) * vars.length), vars, file, stage, `${className} slots`);
}

function checkShapes(
  saved: NamedTensor[],
  vars: tfjs.Variable[],
  file: string,
  stage: string,
  what: string,
): void {
  if (saved.length !== vars.length) {
    throw new DecodeError(
      `${stage}: ${file} holds ${saved.length} ${what} but the model has ${vars.length} trainable weights`,
      {
        stage,
        file,
      },
    );
  }
  saved.forEach((s, i) => {
    if (!sameShape(s.tensor.shape, vars[i].shape)) {
      throw new DecodeError(
        `${stage}: ${what} ${i} (${s.name}) in ${file} has shape [${s.tensor.shape.join(', ')}] but trainable weight ${i} has shape [${vars[i].shape.join(', ')}]`,
        { stage, file },
      );
    }
  });
}

function disposeAnd(state: NamedTensor[], tf: TfNamespace) {
  return (err: unknown): never => {
    tf.dispose(state.map((s) => s.tensor));
    throw err;
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
