import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError, InvalidArgumentError } from '../../src/core/errors.js';
import { loadTf } from '../../src/train/load-tf.js';
import {
  CIFAR10_LRN,
  CIFAR10_WEIGHT_DECAY,
  cifar10Cnn,
  LRN_CLASS_NAME,
  localResponseNormalizationLayer,
  mnistLenet,
} from '../../src/train/models.js';

describe('before loadTf', () => {
  it('models say that tfjs must be loaded first', () => {
    expect(() => cifar10Cnn()).toThrow(InputError);
    expect(() => mnistLenet()).toThrow(/call `await loadTf\(\)` first/);
    expect(() => localResponseNormalizationLayer()).toThrow(/loadTf/);
  });
});

describe('models', () => {
  beforeAll(async () => {
    await loadTf({ backends: ['cpu'], log: false });
  });

  const summary = (model: tf.LayersModel) =>
    model.layers.map((l) => [l.name, l.outputShape, l.countParams()] as const);

  it('cifar10Cnn has the tutorial’s layers, shapes and 1,068,298 parameters', () => {
    const model = cifar10Cnn();
    expect(summary(model)).toEqual([
      ['conv1', [null, 24, 24, 64], 5 * 5 * 3 * 64 + 64],
      ['pool1', [null, 12, 12, 64], 0],
      ['norm1', [null, 12, 12, 64], 0],
      ['conv2', [null, 12, 12, 64], 5 * 5 * 64 * 64 + 64],
      ['norm2', [null, 12, 12, 64], 0],
      ['pool2', [null, 6, 6, 64], 0],
      ['flatten', [null, 2304], 0],
      ['local3', [null, 384], 2304 * 384 + 384],
      ['local4', [null, 192], 384 * 192 + 192],
      ['softmax_linear', [null, 10], 192 * 10 + 10],
    ]);
    expect(model.countParams()).toBe(1_068_298);
    model.dispose();
  });

  it('cifar10Cnn initializes as the tutorial: biases 0 / 0.1, truncated normals of the given stddev', () => {
    const model = cifar10Cnn({ seed: 1 });
    const weights = Object.fromEntries(model.weights.map((w) => [w.originalName, w.read().dataSync()]));
    const stats = (v: ArrayLike<number>) => {
      let sum = 0;
      let sq = 0;
      let max = 0;
      for (let i = 0; i < v.length; i++) {
        sum += v[i];
        sq += v[i] * v[i];
        max = Math.max(max, Math.abs(v[i]));
      }
      const mean = sum / v.length;
      return { mean, std: Math.sqrt(sq / v.length - mean * mean), max };
    };
    // A normal truncated at 2σ has standard deviation 0.88σ.
    for (const [name, sigma] of [
      ['conv1/kernel', 5e-2],
      ['conv2/kernel', 5e-2],
      ['local3/kernel', 0.04],
      ['local4/kernel', 0.04],
      ['softmax_linear/kernel', 1 / 192],
    ] as const) {
      const s = stats(weights[name]);
      expect(s.std / sigma, name).toBeGreaterThan(0.8);
      expect(s.std / sigma, name).toBeLessThan(0.96);
      expect(s.max, name).toBeLessThanOrEqual(2 * sigma + 1e-7);
    }
    for (const [name, value] of [
      ['conv1/bias', 0],
      ['conv2/bias', 0.1],
      ['local3/bias', 0.1],
      ['local4/bias', 0.1],
      ['softmax_linear/bias', 0],
    ] as const) {
      expect(new Set(Array.from(weights[name], (v) => Math.fround(v))), name).toEqual(
        new Set([Math.fround(value)]),
      );
    }
    model.dispose();
  });

  it('mnistLenet has conv 32 → conv 64 → dense 512 → dropout → 10 logits', () => {
    const model = mnistLenet();
    expect(summary(model)).toEqual([
      ['conv1', [null, 28, 28, 32], 5 * 5 * 32 + 32],
      ['pool1', [null, 14, 14, 32], 0],
      ['conv2', [null, 14, 14, 64], 5 * 5 * 32 * 64 + 64],
      ['pool2', [null, 7, 7, 64], 0],
      ['flatten', [null, 3136], 0],
      ['fc1', [null, 512], 3136 * 512 + 512],
      ['dropout', [null, 512], 0],
      ['fc2', [null, 10], 512 * 10 + 10],
    ]);
    expect(model.countParams()).toBe(1_663_370);
    model.dispose();
  });

  it('options change the input and the number of logits', () => {
    const model = cifar10Cnn({ inputShape: [32, 32, 3], numClasses: 100 });
    expect(model.outputs[0].shape).toEqual([null, 100]);
    expect(model.layers.find((l) => l.name === 'flatten')?.outputShape).toEqual([null, 8 * 8 * 64]);
    const lenet = mnistLenet({ inputShape: [32, 32, 3], numClasses: 2 });
    expect(lenet.outputs[0].shape).toEqual([null, 2]);
    model.dispose();
    lenet.dispose();
  });

  it('the same seed gives identical weights; another seed or none gives different ones', () => {
    // Small inputs keep the dense layers small; weights are compared as bytes.
    const bytes = (m: tf.LayersModel) => m.getWeights().map((w) => Buffer.from(w.dataSync().buffer));
    const same = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]));
    for (const build of [cifar10Cnn, mnistLenet]) {
      const options = { inputShape: [8, 8, 3] as [number, number, number] };
      const models = [
        build({ ...options, seed: 7 }),
        build({ ...options, seed: 7 }),
        build({ ...options, seed: 8 }),
      ];
      const [a, b, c] = models.map(bytes);
      const unseeded = build(options);
      const d = bytes(unseeded);
      unseeded.dispose();
      expect(same(a, b)).toBe(true);
      expect(a[0].equals(c[0])).toBe(false);
      expect(a[0].equals(d[0])).toBe(false);
      // Layers get seeds of their own: the two conv kernels are not drawn from one stream start.
      expect(a[0].subarray(0, 64).equals(a[2].subarray(0, 64))).toBe(false);
      for (const m of models) m.dispose();
    }
  });

  it('the weight-decay loss is 0.004 · Σw²/2 over the two hidden dense kernels', () => {
    const model = cifar10Cnn({ seed: 2 });
    const losses = model.calculateLosses();
    expect(losses).toHaveLength(2);
    const total = losses.reduce((s, l) => s + l.dataSync()[0], 0);
    let expected = 0;
    for (const w of model.weights.filter((w) => w.originalName.match(/^local[34]\/kernel$/))) {
      const v = w.read().dataSync();
      let sq = 0;
      for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
      expected += (CIFAR10_WEIGHT_DECAY * sq) / 2;
    }
    expect(expected).toBeGreaterThan(0);
    expect(total).toBeCloseTo(expected, 5);
    tf.dispose(losses);
    model.dispose();
  });

  it('the models produce logits and train', () => {
    const model = cifar10Cnn({ seed: 4, inputShape: [8, 8, 3] });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([1, 5], 'int32'), 10);
    const loss = () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar;
    const before = loss().dataSync()[0];
    const optimizer = tf.train.sgd(0.1);
    for (let i = 0; i < 5; i++) optimizer.minimize(loss);
    expect(loss().dataSync()[0]).toBeLessThan(before);
    model.dispose();
  });

  it('rejects bad options, naming them', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => cifar10Cnn({ inputShape: [24, 24] as never }), /inputShape/],
      [() => cifar10Cnn({ inputShape: [24, 0, 3] }), /three positive integers/],
      [() => cifar10Cnn({ numClasses: 0 }), /numClasses/],
      [() => mnistLenet({ seed: 1.5 }), /seed/],
      [() => mnistLenet({ seed: -1 }), /seed/],
      [() => cifar10Cnn('big' as never), /options/],
      [() => localResponseNormalizationLayer({ depthRadius: -1 }), /depthRadius/],
      [() => localResponseNormalizationLayer({ beta: 0 }), /beta/],
      [() => localResponseNormalizationLayer({ alpha: Number.NaN }), /alpha/],
    ];
    for (const [fn, message] of bad) {
      expect(fn).toThrow(InvalidArgumentError);
      expect(fn).toThrow(message);
    }
  });
});

describe('localResponseNormalization layer', () => {
  beforeAll(async () => {
    await loadTf({ backends: ['cpu'], log: false });
  });

  /** TF's lrn written out: sqr_sum over channels [c-r, c+r] ∩ [0, C), out = x / (bias + alpha·sqr_sum)^beta. */
  function lrnByHand(
    x: Float32Array,
    channels: number,
    r: number,
    bias: number,
    alpha: number,
    beta: number,
  ) {
    const out = new Float64Array(x.length);
    for (let p = 0; p < x.length; p += channels) {
      for (let c = 0; c < channels; c++) {
        let sqrSum = 0;
        for (let k = Math.max(0, c - r); k <= Math.min(channels - 1, c + r); k++) sqrSum += x[p + k] ** 2;
        out[p + c] = x[p + c] / (bias + alpha * sqrSum) ** beta;
      }
    }
    return out;
  }

  it('defaults to the tutorial’s parameters', () => {
    const layer = localResponseNormalizationLayer();
    expect(layer.getConfig()).toMatchObject(CIFAR10_LRN);
    expect(CIFAR10_LRN).toEqual({ depthRadius: 4, bias: 1, alpha: 0.001 / 9, beta: 0.75 });
  });

  it('equals TF’s formula computed by hand', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 11 }),
        fc.integer({ min: 0, max: 5 }),
        fc.constantFrom(1, 2, 0.5),
        fc.constantFrom(0.001 / 9, 0.3, 1),
        fc.constantFrom(0.75, 0.5, 1),
        fc.array(fc.float({ min: -3, max: 3, noNaN: true }), {
          minLength: 2 * 3 * 11,
          maxLength: 2 * 3 * 11,
        }),
        (channels, depthRadius, bias, alpha, beta, raw) => {
          const shape: [number, number, number, number] = [2, 3, 1, channels];
          const values = Float32Array.from(raw.slice(0, 6 * channels));
          const layer = localResponseNormalizationLayer({ depthRadius, bias, alpha, beta });
          const got = tf.tidy(() => (layer.apply(tf.tensor4d(values, shape)) as tf.Tensor).dataSync());
          const want = lrnByHand(values, channels, depthRadius, bias, alpha, beta);
          for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('survives a save/load round trip as a registered class', async () => {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [4, 4, 6], filters: 6, kernelSize: 1 }));
    model.add(
      localResponseNormalizationLayer({ depthRadius: 2, bias: 2, alpha: 0.5, beta: 0.5, name: 'lrn' }),
    );
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    expect(JSON.stringify(artifacts?.modelTopology)).toContain(`"${LRN_CLASS_NAME}"`);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const lrn = loaded.getLayer('lrn');
    expect(lrn.getClassName()).toBe(LRN_CLASS_NAME);
    expect(lrn.getConfig()).toMatchObject({ depthRadius: 2, bias: 2, alpha: 0.5, beta: 0.5 });
    const x = tf.randomNormal([2, 4, 4, 6], 0, 1, 'float32', 3);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    model.dispose();
    loaded.dispose();
  });

  it('saves and loads a whole cifar10Cnn', async () => {
    const model = cifar10Cnn({ seed: 5 });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    const x = tf.randomNormal([1, 24, 24, 3], 0, 1, 'float32', 4);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((model.predict(x) as tf.Tensor).dataSync()),
    );
    model.dispose();
    loaded.dispose();
  });
});
