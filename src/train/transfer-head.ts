/**
 * retrain.py's transfer learning (seed 002): run a trained base model once per example up to a
 * bottleneck layer, cache that feature vector on disk, and train a new small head on the cached
 * features. The base model's forward pass is the expensive part, so a second run (another head,
 * other hyper-parameters, more epochs) reads every bottleneck from the cache and runs no base model
 * at all; only the examples' decoding stays.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { DecodeError, InputError, invalidArgument } from '../core/errors.js';
import { type Source, Stream } from '../core/stream.js';
import { isTensor, sizeOfShape, type Tensor } from '../core/tensor.js';
import { type EvaluationResult, evaluate, modelInput } from './evaluate.js';
import { currentTf } from './load-tf.js';
import { isLayersModel, loadModel, writeFileAtomically } from './model-files.js';
import { type LearningRate, type OptimizerName, type TfjsTrainer, tfjsTrainer } from './tfjs-trainer.js';
import { describeField, fieldOption } from './to-tf-dataset.js';

export interface TransferHeadOptions<I extends string = 'image'> {
  /** Name of the base model's layer whose output is the feature vector (retrain.py's bottleneck). */
  bottleneckLayer: string;
  numClasses: number;
  /** Where bottleneck files go (created if needed); shared safely by runs over other base models. */
  cacheDir: string;
  /** Example field holding the base model's input (default 'image'). */
  inputs?: I;
  /** Example / batch field of int32 class labels (default 'label'). */
  labels?: string;
  /** Example field naming the example, part of its cache key (default 'key'). */
  key?: string;
  /** Hidden ReLU layers of the head before the logits (default none: one dense layer, as retrain.py). */
  hiddenUnits?: number[];
  /** The head's optimizer (default 'sgd', as retrain.py). */
  optimizer?: OptimizerName;
  /** Default 0.01 (retrain.py's). */
  learningRate?: LearningRate;
  /** Examples per base-model forward pass when bottlenecks are missing (default 32). */
  computeBatchSize?: number;
  /** Seed of the head's initial weights (default random). */
  seed?: number;
}

/** An example with its base-model input replaced by the bottleneck vector. */
export type BottleneckExample<E, I extends string> = Omit<E, I> & { bottleneck: Tensor<'float32'> };

export interface BottleneckCacheStats {
  /** Bottlenecks computed by the base model (and written to the cache). */
  computed: number;
  /** Bottlenecks read from the cache. */
  cached: number;
  /** Cache files of the wrong size (a foreign or damaged file), recomputed and rewritten. */
  rewritten: number;
  /** Base-model forward passes run. */
  forwardPasses: number;
}

export interface TransferHead<I extends string = 'image'> {
  readonly baseModel: tfjs.LayersModel;
  readonly bottleneckLayer: string;
  /** Length of the (flattened) bottleneck vector. */
  readonly bottleneckSize: number;
  /** SHA-256 of the base model's topology and weights: part of every cache key. */
  readonly modelId: string;
  /** The new layers: `[B, bottleneckSize]` features to `[B, numClasses]` logits. */
  readonly head: tfjs.LayersModel;
  /** A tfjsTrainer of the head over batches with a `bottleneck` field. */
  readonly trainer: TfjsTrainer;
  /**
   * The examples with `inputs` replaced by `bottleneck` (float32 `[bottleneckSize]`), read from the
   * cache or computed (`computeBatchSize` missing ones per forward pass) and cached. Cold: every
   * iteration reads its source again.
   */
  bottlenecks<E extends object>(examples: Source<E>): Stream<BottleneckExample<E, I>>;
  cacheStats(): BottleneckCacheStats;
  /** Precision @ 1 and a confusion matrix of the head on batches of bottleneck examples. */
  evaluate(batches: Source<object>, options?: { maxBatches?: number }): Promise<EvaluationResult>;
  /**
   * Base model up to the bottleneck, then the head: one model from the base's input to logits, for
   * inference on images. It shares the base's and the head's weights: dispose the transfer head, not it.
   */
  combinedModel(): tfjs.LayersModel;
  /** Frees the head, its trainer and a base model loaded from a path (not one passed in). */
  dispose(): void;
}

const STAGE = 'transferHead';

export async function transferHead<I extends string = 'image'>(
  base: string | tfjs.LayersModel,
  options: TransferHeadOptions<I>,
): Promise<TransferHead<I>> {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an options object', options, STAGE);
  const o = options;
  if (typeof o.bottleneckLayer !== 'string' || o.bottleneckLayer === '') {
    throw invalidArgument('bottleneckLayer', 'a layer name', o.bottleneckLayer, STAGE);
  }
  if (!Number.isInteger(o.numClasses) || o.numClasses < 2) {
    throw invalidArgument('numClasses', 'an integer >= 2', o.numClasses, STAGE);
  }
  if (typeof o.cacheDir !== 'string' || o.cacheDir === '')
    throw invalidArgument('cacheDir', 'a folder path', o.cacheDir, STAGE);
  const hidden = o.hiddenUnits ?? [];
  if (!Array.isArray(hidden) || hidden.some((u) => !Number.isInteger(u) || u < 1)) {
    throw invalidArgument('hiddenUnits', 'an array of positive integers', o.hiddenUnits, STAGE);
  }
  const computeBatchSize = o.computeBatchSize ?? 32;
  if (!Number.isInteger(computeBatchSize) || computeBatchSize < 1) {
    throw invalidArgument('computeBatchSize', 'a positive integer', o.computeBatchSize, STAGE);
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed))
    throw invalidArgument('seed', 'an integer', o.seed, STAGE);
  const inputs = fieldOption(o.inputs, 'inputs', 'image', STAGE) as I;
  const labels = fieldOption(o.labels, 'labels', 'label', STAGE);
  const keyField = fieldOption(o.key, 'key', 'key', STAGE);

  let baseModel: tfjs.LayersModel;
  let ownsBase: boolean;
  if (typeof base === 'string') {
    baseModel = await loadModel(base);
    ownsBase = true;
  } else if (isLayersModel(base)) {
    baseModel = base;
    ownsBase = false;
  } else {
    throw invalidArgument('base', 'a model folder path or a tf.LayersModel', base, STAGE);
  }
  try {
    return new TransferHeadImpl<I>(baseModel, ownsBase, o, {
      inputs,
      labels,
      keyField,
      hidden,
      computeBatchSize,
    });
  } catch (err) {
    if (ownsBase) baseModel.dispose();
    throw err;
  }
}

interface Resolved<I extends string> {
  inputs: I;
  labels: string;
  keyField: string;
  hidden: number[];
  computeBatchSize: number;
}

class TransferHeadImpl<I extends string> implements TransferHead<I> {
  readonly bottleneckLayer: string;
  readonly bottleneckSize: number;
  readonly modelId: string;
  readonly head: tfjs.LayersModel;
  readonly trainer: TfjsTrainer;
  private readonly tf = currentTf();
  private readonly layer: tfjs.layers.Layer;
  private readonly features: tfjs.LayersModel;
  private readonly exampleShape: number[];
  private readonly stats: BottleneckCacheStats = { computed: 0, cached: 0, rewritten: 0, forwardPasses: 0 };
  private combined: tfjs.LayersModel | undefined;
  private disposed = false;

  constructor(
    readonly baseModel: tfjs.LayersModel,
    private readonly ownsBase: boolean,
    private readonly o: TransferHeadOptions<I>,
    private readonly r: Resolved<I>,
  ) {
    const tf = this.tf;
    const input = modelInput(baseModel, STAGE);
    if (input.dtype !== 'float32' || input.shape.slice(1).some((d) => d === null)) {
      throw invalidArgument(
        'base',
        'a model with a fixed-size float32 input',
        `input ${input.dtype} [${input.shape.map((d) => d ?? 'null').join(', ')}]`,
        STAGE,
      );
    }
    this.exampleShape = input.shape.slice(1) as number[];
    const layer = baseModel.layers.find((l) => l.name === o.bottleneckLayer);
    if (!layer) {
      throw invalidArgument(
        'bottleneckLayer',
        `the name of one of the base model's layers [${baseModel.layers.map((l) => l.name).join(', ')}]`,
        o.bottleneckLayer,
        STAGE,
      );
    }
    this.layer = layer;
    this.bottleneckLayer = o.bottleneckLayer;
    const output = layer.output;
    if (Array.isArray(output)) {
      throw invalidArgument('bottleneckLayer', 'a layer with a single output', o.bottleneckLayer, STAGE);
    }
    const dims = output.shape.slice(1);
    if (dims.some((d) => d === null)) {
      throw invalidArgument(
        'bottleneckLayer',
        'a layer whose output has a fixed size',
        `output shape [${output.shape.map((d) => d ?? 'null').join(', ')}]`,
        STAGE,
      );
    }
    this.bottleneckSize = sizeOfShape(dims as number[]);
    this.features = tf.model({ inputs: baseModel.inputs, outputs: output });
    this.modelId = modelIdentity(baseModel);

    const seed = o.seed;
    const layers: tfjs.layers.Layer[] = r.hidden.map((units, i) =>
      tf.layers.dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + i }),
        ...(i === 0 ? { inputShape: [this.bottleneckSize] } : {}),
      }),
    );
    // retrain.py's final layer: weights from a truncated normal with stddev 0.001, zero biases.
    layers.push(
      tf.layers.dense({
        units: o.numClasses,
        kernelInitializer: tf.initializers.truncatedNormal({
          stddev: 0.001,
          seed: seed === undefined ? undefined : seed + r.hidden.length,
        }),
        ...(r.hidden.length === 0 ? { inputShape: [this.bottleneckSize] } : {}),
      }),
    );
    this.head = tf.sequential({ layers });
    this.trainer = tfjsTrainer(this.head, {
      inputs: 'bottleneck',
      labels: r.labels,
      optimizer: o.optimizer ?? 'sgd',
      learningRate: o.learningRate ?? 0.01,
    });
  }

  bottlenecks<E extends object>(examples: Source<E>): Stream<BottleneckExample<E, I>> {
    this.open('bottlenecks');
    const self = this;
    const source = Stream.from(examples, 'bottlenecks', { stage: STAGE, parameter: 'examples' });
    return Stream.from<BottleneckExample<E, I>>(
      {
        async *[Symbol.asyncIterator]() {
          let group: E[] = [];
          for await (const example of source) {
            group.push(example);
            if (group.length === self.r.computeBatchSize) {
              yield* await self.resolveGroup(group);
              group = [];
            }
          }
          if (group.length > 0) yield* await self.resolveGroup(group);
        },
      },
      'bottlenecks',
    );
  }

  cacheStats(): BottleneckCacheStats {
    return { ...this.stats };
  }

  evaluate(batches: Source<object>, options: { maxBatches?: number } = {}): Promise<EvaluationResult> {
    this.open('evaluate');
    return evaluate(this.trainer, batches, {
      inputs: 'bottleneck',
      labels: this.r.labels,
      maxBatches: options?.maxBatches,
    });
  }

  combinedModel(): tfjs.LayersModel {
    this.open('combinedModel');
    if (!this.combined) {
      const tf = this.tf;
      let features = this.layer.output as tfjs.SymbolicTensor;
      if (features.shape.length !== 2) features = tf.layers.flatten().apply(features) as tfjs.SymbolicTensor;
      this.combined = tf.model({
        inputs: this.baseModel.inputs,
        outputs: this.head.apply(features) as tfjs.SymbolicTensor,
      });
    }
    return this.combined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.trainer.dispose();
    // The feature and combined models only borrow layers: disposing them would free the base's weights.
    this.head.dispose();
    if (this.ownsBase) this.baseModel.dispose();
  }

  // --- internals -----------------------------------------------------------------------------

  private open(what: string): void {
    if (this.disposed) throw new InputError(`${STAGE}: ${what} called after dispose()`, { stage: STAGE });
  }

  private cacheFile(key: string): string {
    const h = createHash('sha256').update(`${this.modelId}\n${this.bottleneckLayer}\n${key}`).digest('hex');
    return join(this.o.cacheDir, h.slice(0, 2), `${h}.f32`);
  }

  /** Bottlenecks of a group of examples: cached ones read, the rest computed in one forward pass. */
  private async resolveGroup<E extends object>(group: E[]): Promise<BottleneckExample<E, I>[]> {
    this.open('bottlenecks');
    const { inputs } = this.r;
    const keys = group.map((ex, i) => this.checkExample(ex, i));
    const files = keys.map((k) => this.cacheFile(k));
    const found = await Promise.all(files.map((f) => this.readCached(f)));
    const missing = found.flatMap((v, i) => (v === undefined ? [i] : []));
    if (missing.length > 0) {
      const computed = await this.compute(
        missing.map((i) => (group[i] as Record<string, unknown>)[inputs] as Tensor<'float32'>),
      );
      await Promise.all(
        missing.map(async (i, j) => {
          found[i] = computed[j];
          await mkdir(join(files[i], '..'), { recursive: true });
          await writeFileAtomically(
            files[i],
            new Uint8Array(computed[j].buffer, computed[j].byteOffset, computed[j].byteLength),
          );
        }),
      );
    }
    return group.map((ex, i) => {
      const { [inputs]: _input, ...rest } = ex as Record<string, unknown>;
      return {
        ...rest,
        bottleneck: { dtype: 'float32', shape: [this.bottleneckSize], data: found[i] as Float32Array },
      } as unknown as BottleneckExample<E, I>;
    });
  }

  private checkExample(example: unknown, index: number): string {
    const { inputs, keyField } = this.r;
    if (typeof example !== 'object' || example === null) {
      throw new DecodeError(
        `${STAGE}: Expected an example object but received ${describeField(example)} at index ${index}`,
        {
          stage: STAGE,
          parameter: 'examples',
        },
      );
    }
    const fields = example as Record<string, unknown>;
    const key = fields[keyField];
    if (typeof key !== 'string') {
      throw new DecodeError(
        `${STAGE}: Expected a string for field ${keyField} (option key: the bottleneck cache key) but received ${describeField(key)}; fields are [${Object.keys(fields).join(', ')}]`,
        { stage: STAGE, parameter: keyField },
      );
    }
    const value = fields[inputs];
    const shapeOk =
      isTensor(value) &&
      value.dtype === 'float32' &&
      value.shape.length === this.exampleShape.length &&
      value.shape.every((d, i) => d === this.exampleShape[i]) &&
      value.data.length === sizeOfShape(value.shape);
    if (!shapeOk) {
      throw new DecodeError(
        `${STAGE}: Expected a float32 tensor of shape [${this.exampleShape.join(', ')}] (the base model's input without the batch dimension) for field ${inputs} of example ${JSON.stringify(key)} but received ${describeField(value)}`,
        { stage: STAGE, parameter: inputs, key },
      );
    }
    return key;
  }

  private async readCached(file: string): Promise<Float32Array | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      throw new InputError(`${STAGE}: cannot read bottleneck cache file ${file}: ${(err as Error).message}`, {
        stage: STAGE,
        file,
        cause: err,
      });
    }
    if (bytes.length !== this.bottleneckSize * 4) {
      this.stats.rewritten++;
      return undefined;
    }
    this.stats.cached++;
    const out = new Float32Array(this.bottleneckSize);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }

  /** One forward pass of the base model up to the bottleneck over the given inputs. */
  private async compute(images: Tensor<'float32'>[]): Promise<Float32Array[]> {
    const tf = this.tf;
    const per = sizeOfShape(this.exampleShape);
    const data = new Float32Array(images.length * per);
    images.forEach((img, i) => {
      data.set(img.data, i * per);
    });
    const x = tf.tensor(data, [images.length, ...this.exampleShape], 'float32');
    let y: tfjs.Tensor | undefined;
    try {
      y = this.features.predict(x, { batchSize: images.length }) as tfjs.Tensor;
      this.stats.forwardPasses++;
      const values = (await y.data()) as Float32Array;
      this.stats.computed += images.length;
      const d = this.bottleneckSize;
      return images.map((_, i) => values.slice(i * d, (i + 1) * d));
    } finally {
      x.dispose();
      y?.dispose();
    }
  }
}

/** SHA-256 of a model's topology JSON and every weight's dtype, shape and bytes, in order. */
export function modelIdentity(model: tfjs.LayersModel): string {
  const hash = createHash('sha256');
  hash.update(model.toJSON(null, true) as string);
  for (const w of model.weights) {
    const t = w.read();
    hash.update(`\n${t.dtype}[${t.shape.join(',')}]\n`);
    const values = t.dataSync() as Float32Array;
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex');
}
