/**
 * The seeds' models as tfjs LayersModels (uncompiled, logits out): the TF CIFAR-10 tutorial's
 * `cifar10.inference` and the MNIST "deep" LeNet. Built with the namespace `loadTf` loaded, since the
 * library must not import tfjs itself.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { invalidArgument } from '../core/errors.js';
import { integerOption, objectOption, optionalIntegerOption } from '../core/validate.js';
import { currentTf, type TfNamespace } from './load-tf.js';

export interface ModelOptions {
  /** Input [height, width, channels] (cifar10Cnn: [24, 24, 3]; mnistLenet: [28, 28, 1]). */
  inputShape?: [number, number, number];
  /** Number of logits (default 10). */
  numClasses?: number;
  /** Seeds every initializer (and dropout), so two models built with one seed are identical. */
  seed?: number;
}

export interface LocalResponseNormalizationConfig {
  /** Half-width of the channel window (TF's depth_radius; the tutorial's 4). */
  depthRadius?: number;
  /** Added to the scaled sum of squares (tutorial: 1). */
  bias?: number;
  /** Scale of the sum of squares (tutorial: 0.001 / 9). */
  alpha?: number;
  /** Exponent (tutorial: 0.75). */
  beta?: number;
  /** The usual layer arguments. */
  name?: string;
  inputShape?: number[];
  batchInputShape?: (number | null)[];
  trainable?: boolean;
  dtype?: tfjs.DataType;
}

/** The tutorial's LRN parameters (cifar10.py: `tf.nn.lrn(x, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)`). */
export const CIFAR10_LRN: Required<
  Pick<LocalResponseNormalizationConfig, 'depthRadius' | 'bias' | 'alpha' | 'beta'>
> = {
  depthRadius: 4,
  bias: 1,
  alpha: 0.001 / 9,
  beta: 0.75,
};

/** The tutorial's weight decay on the two hidden dense layers' weights. */
export const CIFAR10_WEIGHT_DECAY = 0.004;

/** The registered class name of the LRN layer, as saved in model.json. */
export const LRN_CLASS_NAME = 'LocalResponseNormalization';

type LrnLayerClass = new (config?: LocalResponseNormalizationConfig) => tfjs.layers.Layer;
const lrnClasses = new WeakMap<TfNamespace, LrnLayerClass>();

/**
 * TF's `tf.nn.lrn` as a layer: out = x / (bias + alpha · Σ_{c' ∈ [c-r, c+r]} x[c']²)^beta over the last
 * axis (tfjs's `localResponseNormalization` computes exactly this). Registered for serialization, so a
 * saved model that contains it loads back with `tf.loadLayersModel`.
 */
export function localResponseNormalizationLayer(
  config: LocalResponseNormalizationConfig = {},
): tfjs.layers.Layer {
  const Lrn = lrnLayerClass(currentTf());
  return new Lrn(config);
}

/**
 * Registers inqueue's layer classes (the LRN layer) with tfjs's serialization, so `tf.loadLayersModel`
 * can read a saved cifar10Cnn in a process that has not built one. `loadTf` calls it; calling it again is
 * harmless.
 */
export function registerCustomLayers(tf: TfNamespace): void {
  lrnLayerClass(tf);
}

function lrnLayerClass(tf: TfNamespace): LrnLayerClass {
  const cached = lrnClasses.get(tf);
  if (cached) return cached;
  class LocalResponseNormalization extends tf.layers.Layer {
    static className = LRN_CLASS_NAME;
    readonly depthRadius: number;
    readonly bias: number;
    readonly alpha: number;
    readonly beta: number;

    constructor(config: LocalResponseNormalizationConfig = {}) {
      const c = objectOption('localResponseNormalizationLayer', 'config', config);
      super(c as ConstructorParameters<typeof tf.layers.Layer>[0]);
      this.depthRadius = integerOption('localResponseNormalizationLayer', 'depthRadius', c.depthRadius, {
        min: 0,
        defaultValue: CIFAR10_LRN.depthRadius,
      });
      this.bias = positiveNumber('bias', c.bias, CIFAR10_LRN.bias);
      this.alpha = positiveNumber('alpha', c.alpha, CIFAR10_LRN.alpha);
      this.beta = positiveNumber('beta', c.beta, CIFAR10_LRN.beta);
    }

    override computeOutputShape(inputShape: tfjs.Shape | tfjs.Shape[]): tfjs.Shape | tfjs.Shape[] {
      return inputShape;
    }

    override call(inputs: tfjs.Tensor | tfjs.Tensor[]): tfjs.Tensor {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tfjs.Tensor4D;
      return tf.localResponseNormalization(x, this.depthRadius, this.bias, this.alpha, this.beta);
    }

    override getConfig(): tfjs.serialization.ConfigDict {
      return {
        ...super.getConfig(),
        depthRadius: this.depthRadius,
        bias: this.bias,
        alpha: this.alpha,
        beta: this.beta,
      };
    }
  }
  tf.serialization.registerClass(LocalResponseNormalization);
  lrnClasses.set(tf, LocalResponseNormalization);
  return LocalResponseNormalization;
}

function positiveNumber(name: string, value: unknown, defaultValue: number): number {
  if (value === undefined) return defaultValue;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(name, 'a positive finite number', value, 'localResponseNormalizationLayer');
  }
  return value;
}

interface ResolvedOptions {
  inputShape: [number, number, number];
  numClasses: number;
  /** Seed for the k-th initializer, or undefined for unseeded ones. */
  seedFor: (k: number) => number | undefined;
}

function resolveOptions(
  stage: string,
  options: unknown,
  defaultShape: [number, number, number],
): ResolvedOptions {
  const o = objectOption(stage, 'options', options);
  const shape = o.inputShape ?? defaultShape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0)
  ) {
    throw invalidArgument('inputShape', 'three positive integers [height, width, channels]', shape, stage);
  }
  const numClasses = integerOption(stage, 'numClasses', o.numClasses, { min: 1, defaultValue: 10 });
  const seed = optionalIntegerOption(stage, 'seed', o.seed, { min: 0, max: 2 ** 31 - 1 });
  return {
    inputShape: shape as [number, number, number],
    numClasses,
    // Distinct seeds per initializer: one seed for all would give layers of equal shape equal weights.
    seedFor: (k) => (seed === undefined ? undefined : seed + 1000 * k),
  };
}

/**
 * The TF CIFAR-10 tutorial's `inference` for 24×24×3 crops: conv 5×5×64 → maxpool 3/2 → LRN →
 * conv 5×5×64 → LRN → maxpool 3/2 → dense 384 → dense 192 → logits, with the tutorial's initializers
 * and weight decay (0.004 · Σw²/2 on the dense 384 and 192 weights; read with `model.calculateLosses()`).
 * 1,068,298 parameters at the default sizes.
 */
export function cifar10Cnn(options: ModelOptions = {}): tfjs.Sequential {
  const tf = currentTf();
  const { inputShape, numClasses, seedFor } = resolveOptions('cifar10Cnn', options, [24, 24, 3]);
  const normal = (stddev: number, k: number) => tf.initializers.truncatedNormal({ stddev, seed: seedFor(k) });
  const constant = (value: number) => tf.initializers.constant({ value });
  const decay = tf.regularizers.l2({ l2: CIFAR10_WEIGHT_DECAY / 2 });
  const model = tf.sequential({ name: 'cifar10Cnn' });
  model.add(
    tf.layers.conv2d({
      name: 'conv1',
      inputShape,
      filters: 64,
      kernelSize: 5,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: normal(5e-2, 1),
      biasInitializer: constant(0),
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 3, strides: 2, padding: 'same' }));
  model.add(localResponseNormalizationLayer({ ...CIFAR10_LRN, name: 'norm1' }));
  model.add(
    tf.layers.conv2d({
      name: 'conv2',
      filters: 64,
      kernelSize: 5,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: normal(5e-2, 2),
      biasInitializer: constant(0.1),
    }),
  );
  model.add(localResponseNormalizationLayer({ ...CIFAR10_LRN, name: 'norm2' }));
  model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 3, strides: 2, padding: 'same' }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  for (const [units, name, k] of [
    [384, 'local3', 3],
    [192, 'local4', 4],
  ] as const) {
    model.add(
      tf.layers.dense({
        name,
        units,
        activation: 'relu',
        kernelInitializer: normal(0.04, k),
        biasInitializer: constant(0.1),
        kernelRegularizer: decay,
      }),
    );
  }
  model.add(
    tf.layers.dense({
      name: 'softmax_linear',
      units: numClasses,
      kernelInitializer: normal(1 / 192, 5),
      biasInitializer: constant(0),
    }),
  );
  // Built now rather than at the first call, so `calculateLosses()` has the decay terms from the start.
  model.build();
  return model;
}

/**
 * The MNIST LeNet of TF's `mnist_deep.py`: conv 5×5×32 → maxpool 2 → conv 5×5×64 → maxpool 2 →
 * dense 512 → dropout 0.5 → logits, initialized as there (truncated normal 0.1, biases 0.1).
 */
export function mnistLenet(options: ModelOptions = {}): tfjs.Sequential {
  const tf = currentTf();
  const { inputShape, numClasses, seedFor } = resolveOptions('mnistLenet', options, [28, 28, 1]);
  const normal = (k: number) => tf.initializers.truncatedNormal({ stddev: 0.1, seed: seedFor(k) });
  const bias = tf.initializers.constant({ value: 0.1 });
  const model = tf.sequential({ name: 'mnistLenet' });
  model.add(
    tf.layers.conv2d({
      name: 'conv1',
      inputShape,
      filters: 32,
      kernelSize: 5,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: normal(1),
      biasInitializer: bias,
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(
    tf.layers.conv2d({
      name: 'conv2',
      filters: 64,
      kernelSize: 5,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: normal(2),
      biasInitializer: bias,
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(
    tf.layers.dense({
      name: 'fc1',
      units: 512,
      activation: 'relu',
      kernelInitializer: normal(3),
      biasInitializer: bias,
    }),
  );
  model.add(tf.layers.dropout({ name: 'dropout', rate: 0.5, seed: seedFor(4) }));
  model.add(
    tf.layers.dense({ name: 'fc2', units: numClasses, kernelInitializer: normal(5), biasInitializer: bias }),
  );
  model.build();
  return model;
}
