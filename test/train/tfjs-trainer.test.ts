import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InputError, InvalidArgumentError, NotFoundError } from '../../src/core/errors.js';
import { currentTf, loadTf, type TfNamespace } from '../../src/train/load-tf.js';
import { saveModel } from '../../src/train/model-files.js';
import { type TfjsTrainerOptions, tfjsTrainer } from '../../src/train/tfjs-trainer.js';
import { makeTempDir, rejectionOf, type TempDir, thrownBy } from '../helpers/files.js';

let tf: TfNamespace;
let tmp: TempDir;
let folders = 0;
const folder = () => join(tmp.dir, `ckpt${folders++}`);

beforeAll(async () => {
  await loadTf({ backends: ['cpu'], log: false });
  tf = currentTf();
  tmp = await makeTempDir('tfjs-trainer');
});
afterAll(() => tmp.cleanup());

const H = 4;
const CLASSES = 3;

/** flatten -> dense 8 relu (L2 weight decay) -> dense 3 logits, seeded. */
function tinyModel(seed = 1, extra: tfjs.layers.Layer[] = []): tfjs.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [H, H, 1] }),
      tf.layers.dense({
        units: 8,
        activation: 'relu',
        kernelInitializer: init(1),
        kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }),
      }),
      ...extra,
      tf.layers.dense({ units: CLASSES, kernelInitializer: init(2) }),
    ],
  });
}

interface TestBatch {
  key: string[];
  image: { dtype: 'float32'; shape: number[]; data: Float32Array };
  label: { dtype: 'int32'; shape: number[]; data: Int32Array };
}

/** Batch i of a learnable stream: class c lights up row c of the image, plus deterministic noise. */
function batchAt(i: number, size = 6): TestBatch {
  const image = new Float32Array(size * H * H);
  const label = new Int32Array(size);
  for (let r = 0; r < size; r++) {
    const c = (i * 7 + r * 5) % CLASSES;
    label[r] = c;
    for (let p = 0; p < H * H; p++) {
      const noise = Math.sin((i * 131 + r * 17 + p) * 12.9898) * 0.3;
      image[r * H * H + p] = (Math.floor(p / H) === c ? 1 : 0) + noise;
    }
  }
  return {
    key: Array.from({ length: size }, (_, r) => `b${i}r${r}`),
    image: { dtype: 'float32', shape: [size, H, H, 1], data: image },
    label: { dtype: 'int32', shape: [size], data: label },
  };
}

function snapshot(model: tfjs.LayersModel): Buffer[] {
  return model.weights.map((w) => {
    const d = w.read().dataSync();
    return Buffer.from(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
  });
}

function logitsOf(model: tfjs.LayersModel, b: TestBatch): Float32Array {
  return tf.tidy(
    () => (model.predict(tf.tensor(b.image.data, b.image.shape)) as tfjs.Tensor).dataSync() as Float32Array,
  );
}

/** Mean sparse softmax cross-entropy and in_top_k(1) count, in float64 JavaScript. */
function reference(logits: Float32Array, labels: Int32Array): { ce: number; correct: number } {
  let ce = 0;
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    const row = Array.from(logits.subarray(r * CLASSES, (r + 1) * CLASSES));
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    ce += lse - row[labels[r]];
    if (row[labels[r]] >= max) correct++;
  }
  return { ce: ce / labels.length, correct };
}

function l2Penalty(model: tfjs.LayersModel): number {
  const k = model.layers[1].getWeights()[0].dataSync() as Float32Array;
  return 0.01 * k.reduce((s, v) => s + v * v, 0);
}

describe('tfjsTrainer.step', () => {
  it('reports the total loss (cross-entropy + weight decay) and precision @ 1 before the update', async () => {
    const model = tinyModel();
    const trainer = tfjsTrainer(model, { learningRate: 0.1 });
    const b = batchAt(0);
    const { ce, correct } = reference(logitsOf(model, b), b.label.data);
    const penalty = l2Penalty(model);
    const result = await trainer.step(b);
    expect(Object.keys(result).sort()).toEqual(['accuracy', 'loss']);
    expect(result.loss).toBeCloseTo(ce + penalty, 5);
    expect(result.accuracy).toBe(correct / 6);
    expect(trainer.globalStep()).toBe(1);

    const plain = tfjsTrainer(tinyModel(), { includeRegularization: false });
    expect((await plain.step(b)).loss).toBeCloseTo(ce, 5);
    trainer.dispose();
    plain.dispose();
  });

  it('applies plain SGD: w - learningRate * gradient of the total loss', async () => {
    const model = tinyModel(2);
    const b = batchAt(1);
    const vars = model.trainableWeights.map((w) => w.read() as tfjs.Variable);
    const { grads } = tf.variableGrads(() => {
      const logits = model.apply(tf.tensor(b.image.data, b.image.shape)) as tfjs.Tensor;
      const ce = tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(b.label.data, 'int32'), CLASSES),
        logits,
      );
      return tf.add(ce, model.calculateLosses()[0]) as tfjs.Scalar;
    }, vars);
    const expected = vars.map((v) => tf.sub(v, tf.mul(grads[v.name], 0.25)).dataSync());
    const trainer = tfjsTrainer(model, { optimizer: 'sgd', learningRate: 0.25 });
    await trainer.step(b);
    vars.forEach((v, i) => {
      const got = v.dataSync();
      for (let j = 0; j < got.length; j++) expect(got[j]).toBeCloseTo(expected[i][j], 6);
    });
    trainer.dispose();
  });

  it('learns a separable task', async () => {
    const trainer = tfjsTrainer(tinyModel(3), { optimizer: 'adam', learningRate: 0.02 });
    for (let i = 0; i < 60; i++) await trainer.step(batchAt(i));
    let correct = 0;
    let count = 0;
    for (let i = 100; i < 110; i++) {
      const e = await trainer.evaluate(batchAt(i));
      correct += e.correct;
      count += e.count;
    }
    expect(correct / count).toBeGreaterThan(0.9);
    trainer.dispose();
  });

  it('calls the schedule with the global step and applies its rate to the next step', async () => {
    const calls: number[] = [];
    const model = tinyModel(4);
    const trainer = tfjsTrainer(model, {
      optimizer: 'momentum',
      learningRate: (step) => {
        calls.push(step);
        return step === 1 ? 0 : 0.1;
      },
    });
    expect(trainer.learningRate()).toBe(0.1);
    await trainer.step(batchAt(0));
    expect(trainer.learningRate()).toBe(0);
    // Momentum with rate 0 moves nothing, whatever its accumulator holds.
    const before = snapshot(model);
    await trainer.step(batchAt(1));
    expect(snapshot(model)).toEqual(before);
    await trainer.step(batchAt(2));
    expect(snapshot(model)).not.toEqual(before);
    expect(calls.filter((s, i) => calls.indexOf(s) === i)).toEqual([0, 1, 2]);
    expect(trainer.optimizer.getClassName()).toBe('Momentum');
    trainer.dispose();
  });

  it('trains with dropout active (training mode) and evaluates without it', async () => {
    const model = tinyModel(5, [tf.layers.dropout({ rate: 0.9, seed: 1 })]);
    const trainer = tfjsTrainer(model, { learningRate: 0 });
    const b = batchAt(0);
    const trained = await trainer.step(b);
    const evaluated = await trainer.evaluate(b);
    const { ce } = reference(logitsOf(model, b), b.label.data);
    expect(evaluated.loss).toBeCloseTo(ce, 5);
    expect(trained.loss - l2Penalty(model)).not.toBeCloseTo(ce, 3);
    trainer.dispose();
  });

  it('takes a custom loss, given the labels tensor and the logits', async () => {
    const seen: string[] = [];
    const loss = (labels: tfjs.Tensor, logits: tfjs.Tensor) => {
      seen.push(`${labels.dtype}[${labels.shape}] ${logits.dtype}[${logits.shape}]`);
      return tf.mean(tf.square(logits)) as tfjs.Scalar;
    };
    const model = tinyModel(6);
    const b = batchAt(0);
    const logits = logitsOf(model, b);
    const trainer = tfjsTrainer(model, { loss, includeRegularization: false });
    const result = await trainer.step(b);
    expect(seen).toEqual(['int32[6] float32[6,3]']);
    expect(result.loss).toBeCloseTo(logits.reduce((s, v) => s + v * v, 0) / logits.length, 5);
    expect(result.accuracy).toBe(reference(logits, b.label.data).correct / 6);

    // Float targets: no accuracy, no range check.
    const regress = tfjsTrainer(tinyModel(6), {
      labels: 'target',
      loss: (y, out) => tf.losses.meanSquaredError(y, out) as tfjs.Scalar,
    });
    const target = { dtype: 'float32', shape: [6, 3], data: new Float32Array(18).fill(7) };
    const r = await regress.step({ ...b, target });
    expect(Object.keys(r)).toEqual(['loss']);
    trainer.dispose();
    regress.dispose();
  });

  it('neither copies nor changes the batch buffers', async () => {
    const trainer = tfjsTrainer(tinyModel(7));
    const b = batchAt(0);
    const image = b.image.data.slice();
    await trainer.step(b);
    await trainer.evaluate(b);
    expect(b.image.data).toEqual(image);
    trainer.dispose();
  });
});

describe('tfjsTrainer moving averages', () => {
  it("keeps TF's ExponentialMovingAverage with num_updates = global step, and evaluates with it", async () => {
    const decay = 0.5;
    const model = tinyModel(8);
    const trainer = tfjsTrainer(model, { learningRate: 0.5, movingAverageDecay: decay });
    const f = Math.fround;
    let shadow = model.trainableWeights.map((w) => Float64Array.from(w.read().dataSync()));
    for (let n = 1; n <= 4; n++) {
      await trainer.step(batchAt(n));
      const d = Math.min(decay, f(1 + n) / f(10 + n)); // 2/11, 3/12, 4/13 then 0.5
      const now = model.trainableWeights.map((w) => w.read().dataSync());
      shadow = shadow.map((s, i) => s.map((v, j) => v - (1 - d) * (v - now[i][j])));
    }
    const trained = snapshot(model);
    const b = batchAt(9);
    const averaged = trainer.withAveragedWeights(() =>
      model.trainableWeights.map((w) => w.read().dataSync().slice()),
    );
    averaged.forEach((a, i) => {
      for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(shadow[i][j], 5);
    });
    expect(snapshot(model)).toEqual(trained); // restored exactly

    const viaAverages = trainer.withAveragedWeights(() => logitsOf(model, b));
    const predicted = trainer.predict(b);
    expect(predicted.dataSync()).toEqual(viaAverages);
    predicted.dispose();
    expect(viaAverages).not.toEqual(logitsOf(model, b));
    const e = await trainer.evaluate(b);
    expect(e.loss).toBeCloseTo(reference(viaAverages, b.label.data).ce, 5);
    expect(e.correct).toBe(reference(viaAverages, b.label.data).correct);
    trainer.dispose();
  });

  it('refuses an asynchronous function, the weights being restored when it returns', () => {
    const trainer = tfjsTrainer(tinyModel(9), { movingAverageDecay: 0.9 });
    const err = thrownBy(() => trainer.withAveragedWeights(async () => 1));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe(
      'tfjsTrainer: Expected a synchronous function (the weights are restored when it returns) for fn but received "a promise"',
    );
    trainer.dispose();
  });
});

describe('tfjsTrainer save / load', () => {
  const cases: [string, TfjsTrainerOptions][] = [
    ['sgd', { optimizer: 'sgd', learningRate: 0.3 }],
    ['momentum with a schedule', { optimizer: 'momentum', learningRate: (s) => 0.1 / (1 + s) }],
    ['adam with moving averages', { optimizer: 'adam', learningRate: 0.01, movingAverageDecay: 0.9 }],
  ];
  for (const [name, options] of cases) {
    it(`${name}: 3 steps, save, new model and trainer, load, 3 steps = 6 steps straight, bit for bit`, async () => {
      const straight = tfjsTrainer(tinyModel(11), options);
      for (let i = 0; i < 6; i++) await straight.step(batchAt(i));

      const first = tfjsTrainer(tinyModel(11), options);
      for (let i = 0; i < 3; i++) await first.step(batchAt(i));
      const dir = folder();
      await first.save(dir);
      first.dispose();

      const resumedModel = tinyModel(99); // other initial weights and layer names
      const resumed = tfjsTrainer(resumedModel, options);
      await resumed.load(dir);
      expect(resumed.globalStep()).toBe(3);
      const rate = options.learningRate as number | ((s: number) => number);
      expect(resumed.learningRate()).toBe(typeof rate === 'function' ? rate(3) : rate);
      for (let i = 3; i < 6; i++) await resumed.step(batchAt(i));

      expect(snapshot(resumedModel)).toEqual(snapshot(straight.model));
      expect(resumed.globalStep()).toBe(6);
      const averagedA = resumed.withAveragedWeights(() => snapshot(resumedModel));
      const averagedB = straight.withAveragedWeights(() => snapshot(straight.model));
      expect(averagedA).toEqual(averagedB);
      const stateA = await resumed.optimizer.getWeights();
      const stateB = await straight.optimizer.getWeights();
      expect(stateA.map((s) => Array.from(s.tensor.dataSync()))).toEqual(
        stateB.map((s) => Array.from(s.tensor.dataSync())),
      );
      tf.dispose([stateA[0].tensor, stateB[0].tensor]);
      straight.dispose();
      resumed.dispose();
    });
  }

  it('writes a loadable model and a readable trainer.json', async () => {
    const trainer = tfjsTrainer(tinyModel(12), { optimizer: 'adam', movingAverageDecay: 0.99 });
    await trainer.step(batchAt(0));
    const dir = folder();
    await trainer.save(dir);
    const json = JSON.parse(await readFile(join(dir, 'trainer.json'), 'utf8'));
    expect(json).toEqual({
      format: 'inqueue-tfjs-trainer',
      version: 1,
      globalStep: 1,
      optimizer: 'Adam',
      learningRate: 0.001,
      movingAverageDecay: 0.99,
      loss: 'softmaxCrossEntropy',
      inputs: 'image',
      labels: 'label',
      includeRegularization: true,
      backend: 'cpu',
    });
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).sort()).toEqual([
      'ema.bin',
      'model.json',
      'optimizer.bin',
      'trainer.json',
      'weights.bin',
    ]);
    trainer.dispose();
  });

  it('loads a checkpoint saved before the first step into a trainer that has state', async () => {
    const fresh = tfjsTrainer(tinyModel(13), { optimizer: 'momentum' });
    const dir = folder();
    await fresh.save(dir);
    const busy = tfjsTrainer(tinyModel(13), { optimizer: 'momentum' });
    await busy.step(batchAt(0));
    await busy.load(dir);
    expect(busy.globalStep()).toBe(0);
    await busy.step(batchAt(0));
    await fresh.step(batchAt(0));
    expect(snapshot(busy.model)).toEqual(snapshot(fresh.model));
    fresh.dispose();
    busy.dispose();
  });

  it('names what does not match: missing checkpoint, other optimizer, averages, architecture, format', async () => {
    const trainer = tfjsTrainer(tinyModel(14), { optimizer: 'momentum' });
    await trainer.step(batchAt(0));
    const dir = folder();
    await trainer.save(dir);
    const file = join(dir, 'trainer.json');

    const missing = folder();
    let err = await rejectionOf(() => trainer.load(missing));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(
      `tfjsTrainer.load: Expected a trainer checkpoint with trainer.json at ${join(missing, 'trainer.json')} but it cannot be read (ENOENT)`,
    );

    const adam = tfjsTrainer(tinyModel(14), { optimizer: 'adam' });
    err = await rejectionOf(() => adam.load(dir));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toBe(
      `tfjsTrainer.load: ${file} was saved with optimizer Momentum but this trainer uses Adam`,
    );

    const averaging = tfjsTrainer(tinyModel(14), { optimizer: 'momentum', movingAverageDecay: 0.9 });
    err = await rejectionOf(() => averaging.load(dir));
    expect(err.message).toBe(
      `tfjsTrainer.load: ${file} was saved without movingAverageDecay but this trainer runs with it`,
    );

    const wider = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [H, H, 1] }), tf.layers.dense({ units: CLASSES })],
    });
    const other = tfjsTrainer(wider, { optimizer: 'momentum' });
    const before = snapshot(wider);
    err = await rejectionOf(() => other.load(dir));
    expect(err.message).toBe(
      `tfjsTrainer.load: ${join(dir, 'optimizer.bin')} holds 4 Momentum slot variables but the model's 2 trainable weights need 2`,
    );
    expect(snapshot(wider)).toEqual(before);

    await writeFile(file, '{"format":"something-else"}');
    err = await rejectionOf(() => trainer.load(dir));
    expect(err.message).toBe(
      `tfjsTrainer.load: ${file} is not a tfjsTrainer checkpoint (format "something-else", globalStep undefined)`,
    );
    await writeFile(file, '{');
    err = await rejectionOf(() => trainer.load(dir));
    expect(err.message).toMatch(/^tfjsTrainer\.load: .*trainer\.json is not valid JSON/);
    for (const t of [trainer, adam, averaging, other]) t.dispose();
  });
});

describe('tfjsTrainer memory', () => {
  it('keeps tf.memory().numTensors flat over 1,000 steps and over evaluate, predict, save and load', async () => {
    const trainer = tfjsTrainer(tinyModel(15), {
      optimizer: 'momentum',
      learningRate: (s) => 0.05 * 0.99 ** Math.floor(s / 100),
      movingAverageDecay: 0.99,
    });
    const batches = Array.from({ length: 10 }, (_, i) => batchAt(i));
    await trainer.step(batches[0]); // creates the momentum slots
    const start = tf.memory().numTensors;
    for (let i = 1; i < 1000; i++) {
      await trainer.step(batches[i % 10]);
      if (i % 250 === 0) expect(tf.memory().numTensors).toBe(start);
    }
    expect(tf.memory().numTensors).toBe(start);
    const dir = folder();
    for (let i = 0; i < 3; i++) {
      await trainer.evaluate(batches[i]);
      trainer.predict(batches[i]).dispose();
      await trainer.save(dir);
      await trainer.load(dir);
    }
    expect(tf.memory().numTensors).toBe(start);
    const afterSteps = trainer.globalStep();
    expect(afterSteps).toBe(1000);
    trainer.dispose();
  });

  it('frees what it created on dispose, and not a caller-owned optimizer', async () => {
    const before = tf.memory().numTensors;
    const model = tinyModel(16);
    const modelTensors = tf.memory().numTensors - before;
    const trainer = tfjsTrainer(model, { optimizer: 'adam', movingAverageDecay: 0.9 });
    await trainer.step(batchAt(0));
    trainer.dispose();
    trainer.dispose(); // idempotent
    expect(tf.memory().numTensors).toBe(before + modelTensors);
    const err = await rejectionOf(() => trainer.step(batchAt(0)));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('tfjsTrainer: step called after dispose()');

    const own = tf.train.sgd(0.1);
    const t2 = tfjsTrainer(model, { optimizer: own, learningRate: 0.2 });
    expect(t2.learningRate()).toBe(0.2);
    await t2.step(batchAt(0));
    t2.dispose();
    await own.minimize(() => tf.sum(tf.mul(model.trainableWeights[0].read(), 0)) as tfjs.Scalar); // still usable
    expect(tfjsTrainer(model, { optimizer: tf.train.adam(0.125) }).learningRate()).toBe(0.125);
    model.dispose();
  });
});

describe('tfjsTrainer errors', () => {
  const model = () => tinyModel(20);

  it('names the batch field, the expected and the received shape or dtype', async () => {
    const trainer = tfjsTrainer(model());
    const b = batchAt(0);
    const cases: [object, RegExp | string][] = [
      [
        { ...b, image: { dtype: 'float32', shape: [6, 5, 5, 1], data: new Float32Array(150) } },
        "tfjsTrainer: Expected a float32 tensor of shape [B, 4, 4, 1] (the model's input shape [null, 4, 4, 1]) for field image but received a float32 tensor of shape [6, 5, 5, 1]",
      ],
      [
        { ...b, image: { dtype: 'uint8', shape: [6, 4, 4, 1], data: new Uint8Array(96) } },
        "tfjsTrainer: Expected a float32 tensor of shape [B, 4, 4, 1] (the model's input shape [null, 4, 4, 1]) for field image but received a uint8 tensor of shape [6, 4, 4, 1]; tfjs cannot wrap uint8 data without a copy: convert the field to float32 in the pipeline",
      ],
      [
        { key: b.key, label: b.label },
        'tfjsTrainer: Expected a field image in the batch (option inputs) but the batch has fields [key, label]',
      ],
      [
        { key: b.key, image: b.image },
        'tfjsTrainer: Expected a field label in the batch (option labels) but the batch has fields [key, image]',
      ],
      [
        { ...b, image: b.key },
        'tfjsTrainer: Expected a tensor value { dtype, shape, data } for field image but received an array of 6 strings',
      ],
      [
        { ...b, image: { dtype: 'float32', shape: [6, 4, 4, 1], data: new Float32Array(5) } },
        'tfjsTrainer: Expected a tensor value { dtype, shape, data } for field image but received a float32 tensor of shape [6, 4, 4, 1]',
      ],
      [
        { ...b, label: { dtype: 'float32', shape: [6], data: new Float32Array(6) } },
        'tfjsTrainer: Expected an int32 tensor of shape [6] (one class index per example) for field label but received a float32 tensor of shape [6]',
      ],
      [
        { ...b, label: { dtype: 'int32', shape: [5], data: new Int32Array(5) } },
        'tfjsTrainer: Expected an int32 tensor of shape [6] (one class index per example) for field label but received an int32 tensor of shape [5]',
      ],
      [
        { ...b, label: { dtype: 'int32', shape: [6], data: Int32Array.of(0, 1, 2, 3, 0, 0) } },
        'tfjsTrainer: Expected class indices in [0, 3) for field label but received 3 at row 3 (key "b0r3")',
      ],
      [
        { image: b.image, label: { dtype: 'int32', shape: [6], data: Int32Array.of(0, -1, 0, 0, 0, 0) } },
        'tfjsTrainer: Expected class indices in [0, 3) for field label but received -1 at row 1',
      ],
      [[b], 'tfjsTrainer: Expected a batch object of named fields but received an array of 1 objects'],
    ];
    const start = tf.memory().numTensors;
    const before = snapshot(trainer.model);
    for (const [batch, message] of cases) {
      for (const run of [() => trainer.step(batch), () => trainer.evaluate(batch)]) {
        const err = await rejectionOf(run);
        expect(err).toBeInstanceOf(DecodeError);
        expect(err.message).toBe(message);
      }
    }
    expect(thrownBy(() => trainer.predict({ key: [] })).message).toBe(
      'tfjsTrainer: Expected a field image in the batch (option inputs) but the batch has fields [key]',
    );
    expect(snapshot(trainer.model)).toEqual(before);
    expect(tf.memory().numTensors).toBe(start);
    expect(trainer.globalStep()).toBe(0);
    trainer.dispose();
  });

  it('rejects bad options when made', () => {
    const m = model();
    const cases: [unknown, TfjsTrainerOptions | unknown, string][] = [
      [{}, {}, 'tfjsTrainer: Expected a tf.LayersModel for model but received {}'],
      [m, null, 'tfjsTrainer: Expected an options object for options but received null'],
      [
        m,
        { optimizer: 'rmsprop' },
        "tfjsTrainer: Expected one of 'sgd', 'momentum', 'adam' or a tf.Optimizer for optimizer but received \"rmsprop\"",
      ],
      [
        m,
        { optimizer: {} },
        "tfjsTrainer: Expected one of 'sgd', 'momentum', 'adam' or a tf.Optimizer for optimizer but received {}",
      ],
      [
        m,
        { learningRate: -1 },
        'tfjsTrainer: Expected a non-negative number or a function of the global step for learningRate but received -1',
      ],
      [
        m,
        { learningRate: () => Number.NaN },
        'tfjsTrainer: Expected a non-negative finite number for learningRate(0) but received NaN',
      ],
      [
        m,
        { momentum: 0.5 },
        "tfjsTrainer: Expected no value (momentum applies to optimizer 'momentum') for momentum but received 0.5",
      ],
      [
        m,
        { optimizer: 'momentum', momentum: 1 },
        'tfjsTrainer: Expected a number in [0, 1) for momentum but received 1',
      ],
      [
        m,
        { movingAverageDecay: 1 },
        'tfjsTrainer: Expected a number in (0, 1), e.g. 0.9999 for movingAverageDecay but received 1',
      ],
      [
        m,
        { loss: 'mse' },
        'tfjsTrainer: Expected \'softmaxCrossEntropy\' or a function (labels, logits) => tf.Scalar for loss but received "mse"',
      ],
      [
        m,
        { includeRegularization: 1 },
        'tfjsTrainer: Expected a boolean for includeRegularization but received 1',
      ],
      [m, { inputs: '' }, 'tfjsTrainer: Expected a batch field name for inputs but received ""'],
      [
        tf.sequential({
          layers: [
            tf.layers.dense({ inputShape: [2], units: 3 }),
            tf.layers.reshape({ targetShape: [3, 1] }),
          ],
        }),
        {},
        'tfjsTrainer: Expected a model whose output is [batch, classes] logits for model but received "output shape [null, 3, 1]"',
      ],
    ];
    const before = tf.memory().numTensors;
    for (const [mod, options, message] of cases) {
      const err = thrownBy(() => tfjsTrainer(mod as tfjs.LayersModel, options as TfjsTrainerOptions));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toBe(message);
    }
    expect(tf.memory().numTensors).toBe(before); // no optimizer left behind
    const a = tf.input({ shape: [2] });
    const two = tf.model({
      inputs: a,
      outputs: [
        tf.layers.dense({ units: 2 }).apply(a),
        tf.layers.dense({ units: 2 }).apply(a),
      ] as tfjs.SymbolicTensor[],
    });
    expect(thrownBy(() => tfjsTrainer(two)).message).toBe(
      'tfjsTrainer: Expected a model with one input and one output for model but received "a model with 1 inputs and 2 outputs"',
    );
  });

  it('names the step whose scheduled rate is invalid, and refuses overlapping steps', async () => {
    const trainer = tfjsTrainer(model(), { learningRate: (s) => (s < 1 ? 0.1 : -2) });
    await trainer.step(batchAt(0));
    const err = await rejectionOf(() => trainer.step(batchAt(1)));
    expect(err.message).toBe(
      'tfjsTrainer: Expected a non-negative finite number for learningRate(1) but received -2',
    );
    expect(trainer.globalStep()).toBe(1);

    const t2 = tfjsTrainer(model());
    const first = t2.step(batchAt(0));
    const err2 = await rejectionOf(() => t2.step(batchAt(1)));
    expect(err2.message).toBe('tfjsTrainer: step called before the previous step resolved; await each step');
    await first;
    expect(t2.globalStep()).toBe(1);
    trainer.dispose();
    t2.dispose();
  });

  it('checks a saved model folder against the trainer architecture before changing anything', async () => {
    // A model folder without trainer.json is not a trainer checkpoint.
    const dir = folder();
    await saveModel(model(), dir);
    const trainer = tfjsTrainer(model());
    const err = await rejectionOf(() => trainer.load(dir));
    expect(err).toBeInstanceOf(NotFoundError);
    trainer.dispose();
  });
});
