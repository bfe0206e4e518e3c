import { readdir, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { batch } from '../../src/batch/batch.js';
import { DecodeError, InvalidArgumentError, NotFoundError } from '../../src/core/errors.js';
import { Stream } from '../../src/core/stream.js';
import { currentTf, loadTf, type TfNamespace } from '../../src/train/load-tf.js';
import { saveModel } from '../../src/train/model-files.js';
import { modelIdentity, transferHead } from '../../src/train/transfer-head.js';
import { makeTempDir, rejectionOf, type TempDir } from '../helpers/files.js';

let tf: TfNamespace;
let tmp: TempDir;
let baseDir: string;
let dirs = 0;
const freshDir = (name: string) => join(tmp.dir, `${name}${dirs++}`);

const S = 6;
const CLASSES = 3;

/** conv -> pool -> dense 'bottleneck' -> dense: a small "pretrained" base, seeded. */
function baseModel(seed: number): tfjs.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [S, S, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 16, activation: 'relu', name: 'bottleneck', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(3) }),
    ],
  });
}

/** Separable examples: class c is a bright band of rows 2c..2c+1, plus deterministic noise. */
function examples(from: number, n: number) {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const label = i % CLASSES;
    const data = new Float32Array(S * S).map((_, p) => {
      const row = Math.floor(p / S);
      return (row >= 2 * label && row < 2 * label + 2 ? 1 : 0) + Math.sin(i * 97.3 + p * 3.1) * 0.2;
    });
    return { key: `img-${i}.png`, image: { dtype: 'float32' as const, shape: [S, S, 1], data }, label };
  });
}

beforeAll(async () => {
  await loadTf({ backends: ['cpu'], log: false });
  tf = currentTf();
  tmp = await makeTempDir('transfer-head');
  baseDir = join(tmp.dir, 'base');
  const base = baseModel(1);
  await saveModel(base, baseDir);
  base.dispose();
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  vi.restoreAllMocks();
});

async function cacheFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(dir))
    for (const f of await readdir(join(dir, sub))) out.push(join(dir, sub, f));
  return out.sort();
}

describe('transferHead', () => {
  it('trains a new head on cached bottlenecks well above chance, without leaking tensors', async () => {
    const cacheDir = freshDir('cache');
    const before = tf.memory().numTensors;
    const th = await transferHead(baseDir, {
      bottleneckLayer: 'bottleneck',
      numClasses: CLASSES,
      cacheDir,
      optimizer: 'adam',
      learningRate: 0.05,
      seed: 7,
    });
    expect(th.bottleneckSize).toBe(16);
    expect(th.head.outputs[0].shape).toEqual([null, CLASSES]);
    const train = th.bottlenecks(examples(0, 60));
    const test = th.bottlenecks(examples(1000, 30));
    let afterFirstEpoch = 0; // adam makes its slot variables on the first step
    for (let epoch = 0; epoch < 15; epoch++) {
      for await (const b of batch(train, { batchSize: 10 })) await th.trainer.step(b);
      if (epoch === 0) afterFirstEpoch = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(afterFirstEpoch);
    const result = await th.evaluate(batch(test, { batchSize: 10 }));
    expect(result.count).toBe(30);
    expect(result.precisionAt1).toBeGreaterThan(0.8); // chance: 1/3
    expect(th.cacheStats()).toEqual({
      computed: 90,
      cached: 15 * 60 - 60,
      rewritten: 0,
      forwardPasses: 2 + 1,
    }); // 32 + 28, then 30
    th.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('computes each bottleneck once: a second run reads the cache and runs no forward pass', async () => {
    const cacheDir = freshDir('cache');
    const predict = vi.spyOn(tf.LayersModel.prototype, 'predict');
    const options = { bottleneckLayer: 'bottleneck', numClasses: CLASSES, cacheDir, computeBatchSize: 8 };
    const first = await transferHead(baseDir, options);
    const firstRun = await first.bottlenecks(examples(0, 20)).toArray();
    expect(predict).toHaveBeenCalledTimes(3); // 8 + 8 + 4
    expect(first.cacheStats()).toEqual({ computed: 20, cached: 0, rewritten: 0, forwardPasses: 3 });
    expect(await cacheFiles(cacheDir)).toHaveLength(20);
    first.dispose();

    predict.mockClear();
    const second = await transferHead(baseDir, options);
    expect(second.modelId).toBe(first.modelId);
    const secondRun = await second.bottlenecks(examples(0, 20)).toArray();
    expect(predict).not.toHaveBeenCalled();
    expect(second.cacheStats()).toEqual({ computed: 0, cached: 20, rewritten: 0, forwardPasses: 0 });
    expect(secondRun).toEqual(firstRun);
    expect(secondRun[3]).toEqual({ key: 'img-3.png', label: 0, bottleneck: firstRun[3].bottleneck });
    expect(Object.keys(secondRun[3])).toEqual(['key', 'label', 'bottleneck']); // the image is dropped

    // The cached values are the base model's bottleneck-layer output.
    const base = second.baseModel;
    const upTo = tf.model({
      inputs: base.inputs,
      outputs: base.getLayer('bottleneck').output as tfjs.SymbolicTensor,
    });
    const ex = examples(3, 1)[0];
    const direct = tf.tidy(() =>
      (upTo.predict(tf.tensor(ex.image.data, [1, S, S, 1])) as tfjs.Tensor).dataSync(),
    );
    expect(Array.from(secondRun[3].bottleneck.data)).toEqual(Array.from(direct));
    second.dispose();
  });

  it('keys the cache by the base model: other weights or another layer compute afresh', async () => {
    const cacheDir = freshDir('cache');
    const a = await transferHead(baseDir, { bottleneckLayer: 'bottleneck', numClasses: CLASSES, cacheDir });
    await a.bottlenecks(examples(0, 4)).toArray();
    const otherBase = baseModel(2);
    const b = await transferHead(otherBase, { bottleneckLayer: 'bottleneck', numClasses: CLASSES, cacheDir });
    expect(b.modelId).not.toBe(a.modelId);
    await b.bottlenecks(examples(0, 4)).toArray();
    expect(b.cacheStats().computed).toBe(4);
    const flatten = a.baseModel.layers[2].name;
    const c = await transferHead(baseDir, { bottleneckLayer: flatten, numClasses: CLASSES, cacheDir });
    expect(c.bottleneckSize).toBe(16); // 2x2x4 flattened
    await c.bottlenecks(examples(0, 4)).toArray();
    expect(c.cacheStats()).toMatchObject({ computed: 4, cached: 0 });
    expect(await cacheFiles(cacheDir)).toHaveLength(12);
    for (const th of [a, b, c]) th.dispose();
    // A model passed in belongs to the caller: still usable.
    tf.tidy(() => otherBase.predict(tf.zeros([1, S, S, 1])));
    expect(modelIdentity(otherBase)).toBe(b.modelId);
    otherBase.dispose();
  });

  it('recomputes and rewrites a cache file of the wrong size', async () => {
    const cacheDir = freshDir('cache');
    const options = { bottleneckLayer: 'bottleneck', numClasses: CLASSES, cacheDir };
    const first = await transferHead(baseDir, options);
    const good = await first.bottlenecks(examples(0, 3)).toArray();
    first.dispose();
    const files = await cacheFiles(cacheDir);
    await truncate(files[0], 10);
    const second = await transferHead(baseDir, options);
    expect(await second.bottlenecks(examples(0, 3)).toArray()).toEqual(good);
    expect(second.cacheStats()).toEqual({ computed: 1, cached: 2, rewritten: 1, forwardPasses: 1 });
    expect((await readFile(files[0])).length).toBe(16 * 4);
    second.dispose();
  });

  it('combines base and head into one model from images to logits', async () => {
    const th = await transferHead(baseDir, {
      bottleneckLayer: 'bottleneck',
      numClasses: CLASSES,
      cacheDir: freshDir('cache'),
      hiddenUnits: [5],
      seed: 3,
    });
    expect(th.head.layers.map((l) => l.outputShape)).toEqual([
      [null, 5],
      [null, CLASSES],
    ]);
    const exs = examples(0, 4);
    const feats = await th.bottlenecks(exs).toArray();
    const viaHead = tf.tidy(() =>
      (
        th.head.predict(
          tf.tensor(
            feats.flatMap((f) => Array.from(f.bottleneck.data)),
            [4, 16],
          ),
        ) as tfjs.Tensor
      ).dataSync(),
    );
    const combined = th.combinedModel();
    expect(th.combinedModel()).toBe(combined);
    const x = tf.tensor(
      exs.flatMap((e) => Array.from(e.image.data)),
      [4, S, S, 1],
    );
    const viaCombined = tf.tidy(() => (combined.predict(x) as tfjs.Tensor).dataSync());
    x.dispose();
    Array.from(viaCombined).forEach((v, i) => {
      expect(v).toBeCloseTo(viaHead[i], 5);
    });
    th.dispose();
  });

  it('names what is wrong with options, the base model and the examples', async () => {
    const cacheDir = freshDir('cache');
    const ok = { bottleneckLayer: 'bottleneck', numClasses: CLASSES, cacheDir };
    const bad: [unknown, unknown, string][] = [
      [
        baseDir,
        { ...ok, bottleneckLayer: 'nope' },
        "transferHead: Expected the name of one of the base model's layers",
      ],
      [
        baseDir,
        { ...ok, numClasses: 1 },
        'transferHead: Expected an integer >= 2 for numClasses but received 1',
      ],
      [baseDir, { ...ok, cacheDir: '' }, 'transferHead: Expected a folder path for cacheDir but received ""'],
      [
        baseDir,
        { ...ok, hiddenUnits: [0] },
        'transferHead: Expected an array of positive integers for hiddenUnits but received [0]',
      ],
      [
        baseDir,
        { ...ok, computeBatchSize: 0 },
        'transferHead: Expected a positive integer for computeBatchSize but received 0',
      ],
      [42, ok, 'transferHead: Expected a model folder path or a tf.LayersModel for base but received 42'],
      [baseDir, null, 'transferHead: Expected an options object for options but received null'],
    ];
    const before = tf.memory().numTensors;
    for (const [base, options, message] of bad) {
      const err = await rejectionOf(() => transferHead(base as string, options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message.startsWith(message)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before); // a base loaded for a failed call is freed
    const unknown = await rejectionOf(() => transferHead(baseDir, { ...ok, bottleneckLayer: 'nope' }));
    expect(unknown.message).toMatch(
      /^transferHead: Expected the name of one of the base model's layers \[conv2d_\S+, max_pooling2d_\S+, flatten_\S+, bottleneck, dense_\S+\] for bottleneckLayer but received "nope"$/,
    );
    expect(await rejectionOf(() => transferHead(join(tmp.dir, 'absent'), ok))).toBeInstanceOf(NotFoundError);

    const th = await transferHead(baseDir, ok);
    const ex = examples(0, 1)[0];
    const cases: [object, string][] = [
      [
        { image: ex.image, label: 0 },
        'transferHead: Expected a string for field key (option key: the bottleneck cache key) but received undefined; fields are [image, label]',
      ],
      [
        { key: 'k', image: { dtype: 'float32', shape: [S, S], data: new Float32Array(S * S) }, label: 0 },
        'transferHead: Expected a float32 tensor of shape [6, 6, 1] (the base model\'s input without the batch dimension) for field image of example "k" but received a float32 tensor of shape [6, 6]',
      ],
      [
        { key: 'k', label: 0 },
        'transferHead: Expected a float32 tensor of shape [6, 6, 1] (the base model\'s input without the batch dimension) for field image of example "k" but received undefined',
      ],
    ];
    for (const [example, message] of cases) {
      const err = await rejectionOf(() => th.bottlenecks([example]).toArray());
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toBe(message);
    }
    th.dispose();
    expect(() => th.bottlenecks([])).toThrow('transferHead: bottlenecks called after dispose()');
  });

  it('reads other field names', async () => {
    const th = await transferHead(baseDir, {
      bottleneckLayer: 'bottleneck',
      numClasses: CLASSES,
      cacheDir: freshDir('cache'),
      inputs: 'pixels',
      key: 'name',
      labels: 'cls',
    });
    const ex = examples(0, 2).map((e) => ({ name: e.key, pixels: e.image, cls: e.label }));
    const out = await th.bottlenecks(Stream.from(ex)).toArray();
    expect(out.map((o) => Object.keys(o))).toEqual([
      ['name', 'cls', 'bottleneck'],
      ['name', 'cls', 'bottleneck'],
    ]);
    for await (const b of batch(Stream.from(out), { batchSize: 2 })) {
      const r = await th.trainer.step(b);
      expect(Number.isFinite(r.loss)).toBe(true);
    }
    th.dispose();
  });
});
