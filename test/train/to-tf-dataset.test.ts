import type * as tfjs from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batch } from '../../src/batch/batch.js';
import { DecodeError, InputError, InvalidArgumentError } from '../../src/core/errors.js';
import { Stream } from '../../src/core/stream.js';
import { currentTf, loadTf, type TfNamespace } from '../../src/train/load-tf.js';
import { type ToTfDatasetOptions, toTfDataset, wrapField } from '../../src/train/to-tf-dataset.js';
import { rejectionOf, thrownBy } from '../helpers/files.js';

let tf: TfNamespace;
beforeAll(async () => {
  await loadTf({ backends: ['cpu'], log: false });
  tf = currentTf();
});

const CLASSES = 3;

/** 12 examples of a learnable task: class c has a bright row c in a 3x3 image. */
function examples(n = 12) {
  return Array.from({ length: n }, (_, i) => {
    const label = i % CLASSES;
    const data = new Float32Array(9).map(
      (_, p) => (Math.floor(p / 3) === label ? 1 : 0) + ((i * 7 + p) % 5) * 0.05,
    );
    return { key: `e${i}`, image: { dtype: 'float32' as const, shape: [3, 3, 1], data }, label };
  });
}

const batches = (n = 12, batchSize = 4) => batch(Stream.from(examples(n)), { batchSize });

function model(loss: 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy'): tfjs.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [3, 3, 1] }),
      tf.layers.dense({
        units: CLASSES,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
  m.compile({ optimizer: tf.train.sgd(0.5), loss });
  return m;
}

/** fitDataset with a batch counter; returns batches per epoch and the epoch losses. */
async function fitCounting(
  m: tfjs.LayersModel,
  ds: tfjs.data.Dataset<tfjs.TensorContainer>,
  args: Partial<tfjs.ModelFitDatasetArgs<unknown>> = {},
) {
  const perEpoch: number[] = [];
  const history = await m.fitDataset(ds, {
    epochs: 2,
    verbose: 0,
    ...args,
    callbacks: {
      onEpochBegin: async () => {
        perEpoch.push(0);
      },
      onBatchEnd: async () => {
        perEpoch[perEpoch.length - 1]++;
      },
    },
  });
  return { perEpoch, loss: history.history.loss as number[] };
}

describe('wrapField', () => {
  it('wraps the batch buffer itself on the cpu backend: no copy', () => {
    const data = Float32Array.of(1, 2, 3, 4);
    const t = wrapField({ dtype: 'float32', shape: [2, 2], data });
    expect(t.dataSync()).toBe(data); // the very array
    data[0] = 9;
    expect(t.dataSync()[0]).toBe(9);
    t.dispose();
  });

  it('is copied once into WebAssembly memory on the wasm backend', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      const data = Float32Array.of(1, 2, 3, 4);
      const t = wrapField({ dtype: 'float32', shape: [4], data });
      data[0] = 9;
      expect(t.dataSync()[0]).toBe(1);
      t.dispose();
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe('toTfDataset', () => {
  it('yields { xs, ys }: class indices as float32 (what sparseCategoricalCrossentropy takes), or one-hot with numClasses', async () => {
    const sparse = await toTfDataset(batches(8)).toArray();
    expect(sparse.map(({ xs, ys }) => [xs.shape, xs.dtype, ys.shape, ys.dtype])).toEqual([
      [[4, 3, 3, 1], 'float32', [4], 'float32'],
      [[4, 3, 3, 1], 'float32', [4], 'float32'],
    ]);
    expect(Array.from(sparse[1].ys.dataSync())).toEqual([1, 2, 0, 1]);
    expect(Array.from(sparse[0].xs.dataSync().slice(0, 9))).toEqual(Array.from(examples()[0].image.data));
    const oneHot = await toTfDataset(batches(4), { numClasses: CLASSES }).toArray();
    expect(oneHot[0].ys.dtype).toBe('float32');
    expect(oneHot[0].ys.arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 0],
    ]);
    tf.dispose([...sparse, ...oneHot]);
  });

  it('feeds fitDataset for 4 epochs of a Stream (re-run per epoch), learning, without leaking tensors', async () => {
    for (const [loss, numClasses] of [
      ['sparseCategoricalCrossentropy', undefined],
      ['categoricalCrossentropy', CLASSES],
    ] as const) {
      const m = model(loss);
      const ds = toTfDataset(batches(), { numClasses });
      await fitCounting(m, ds, { epochs: 1 }); // the optimizer makes its variables on the first step
      const before = tf.memory().numTensors;
      const { perEpoch, loss: losses } = await fitCounting(m, ds, { epochs: 4 });
      expect(perEpoch).toEqual([3, 3, 3, 3]);
      expect(losses[3]).toBeLessThan(losses[0]);
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    }
  });

  it('calls a factory once per epoch, and iterates an array again each epoch', async () => {
    let calls = 0;
    const m = model('sparseCategoricalCrossentropy');
    const viaFactory = await fitCounting(
      m,
      toTfDataset(() => {
        calls++;
        return batches();
      }),
    );
    expect(viaFactory.perEpoch).toEqual([3, 3]);
    expect(calls).toBe(2);
    const array = await batches().toArray();
    expect((await fitCounting(m, toTfDataset(array))).perEpoch).toEqual([3, 3]);
    m.dispose();
  });

  it('serves a once-only iterator for one epoch, or across epochs with batchesPerEpoch, and refuses a second pass', async () => {
    const once = async function* () {
      for await (const b of batches()) yield b;
    };
    const m = model('sparseCategoricalCrossentropy');
    expect((await fitCounting(m, toTfDataset(once()), { epochs: 1 })).perEpoch).toEqual([3]);
    expect((await fitCounting(m, toTfDataset(once()), { epochs: 3, batchesPerEpoch: 1 })).perEpoch).toEqual([
      1, 1, 1,
    ]);
    // fitDataset itself keeps one tensor when a dataset fails mid-run (tfjs 4.22): measure it bare.
    let bareEpochs = 0;
    const bare = tf.data.generator(async function* () {
      if (bareEpochs++ > 0) throw new Error('second epoch');
      for (let i = 0; i < 3; i++) yield { xs: tf.zeros([4, 3, 3, 1]), ys: tf.zeros([4]) };
    } as never);
    let before = tf.memory().numTensors;
    await rejectionOf(() => fitCounting(m, bare, { epochs: 2 }));
    const fitDatasetKeeps = tf.memory().numTensors - before;
    before = tf.memory().numTensors;
    const err = await rejectionOf(() => fitCounting(m, toTfDataset(once()), { epochs: 2 }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      "toTfDataset: the batch source is an iterator, which can be iterated only once, and fitDataset started a second epoch; pass a Stream, an array or a function returning a fresh stream, or set fitDataset's batchesPerEpoch",
    );
    expect(tf.memory().numTensors - before).toBe(fitDatasetKeeps);
    m.dispose();
  });

  it('names the field and what is wrong with it', async () => {
    const good = await batches(4).toArray();
    const b = good[0] as unknown as Record<string, unknown>;
    const cases: [object, ToTfDatasetOptions, string][] = [
      [
        { key: b.key, label: b.label },
        {},
        'toTfDataset: Expected a field image in the batch (option inputs) but the batch has fields [key, label]',
      ],
      [
        { ...b, pixels: b.image },
        { inputs: 'pixels', labels: 'y' },
        'toTfDataset: Expected a field y in the batch (option labels) but the batch has fields [key, image, label, pixels]',
      ],
      [
        { ...b, image: { dtype: 'uint8', shape: [4, 9], data: new Uint8Array(36) } },
        {},
        'toTfDataset: Expected a float32 tensor of shape [B, ?] for field image but received a uint8 tensor of shape [4, 9]; tfjs cannot wrap uint8 data without a copy: convert the field to float32 in the pipeline',
      ],
      [
        { ...b, label: { dtype: 'int32', shape: [4], data: Int32Array.of(0, 1, 5, 0) } },
        { numClasses: 3 },
        'toTfDataset: Expected class indices in [0, 3) for field label but received 5 at row 2 (key "e2")',
      ],
      [
        { ...b, label: { dtype: 'int32', shape: [3], data: Int32Array.of(0, 1, 2) } },
        {},
        'toTfDataset: Expected a float32 or int32 tensor with 4 rows (one per example of field image) for field label but received an int32 tensor of shape [3]',
      ],
    ];
    const before = tf.memory().numTensors;
    for (const [bad, options, message] of cases) {
      const it = await toTfDataset([bad], options).iterator();
      const err = await rejectionOf(() => it.next());
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toBe(message);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad arguments when called', () => {
    const cases: [unknown, unknown, string][] = [
      [
        5,
        {},
        'toTfDataset: Expected a Stream, an (async) iterable of batches or a function returning one for batches but received 5',
      ],
      [[], { numClasses: 0 }, 'toTfDataset: Expected a positive integer for numClasses but received 0'],
      [[], { inputs: '' }, 'toTfDataset: Expected a batch field name for inputs but received ""'],
      [[], null, 'toTfDataset: Expected an options object for options but received null'],
    ];
    for (const [source, options, message] of cases) {
      const err = thrownBy(() => toTfDataset(source as never, options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toBe(message);
    }
  });

  it('names a factory that returns no stream', async () => {
    const err = await rejectionOf(() => toTfDataset(() => 7 as never).toArray());
    expect(err.message).toBe(
      'toTfDataset: Expected a Stream or an (async) iterable of batches for batches() but received 7',
    );
  });
});
