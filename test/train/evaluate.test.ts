import type * as tfjs from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InputError, InvalidArgumentError } from '../../src/core/errors.js';
import { ClassificationTally, evaluate, inTopK1 } from '../../src/train/evaluate.js';
import { currentTf, loadTf, type TfNamespace } from '../../src/train/load-tf.js';
import { tfjsTrainer } from '../../src/train/tfjs-trainer.js';
import { rejectionOf, thrownBy } from '../helpers/files.js';

let tf: TfNamespace;
beforeAll(async () => {
  await loadTf({ backends: ['cpu'], log: false });
  tf = currentTf();
});

const C = 4;

/** flatten [2, 2, 1] -> dense 4 logits, seeded; `zero` makes every logit 0 (all classes tie). */
function model(seed = 1, zero = false): tfjs.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [2, 2, 1] }),
      tf.layers.dense({
        units: C,
        kernelInitializer: zero ? 'zeros' : tf.initializers.glorotUniform({ seed }),
        biasInitializer: 'zeros',
      }),
    ],
  });
}

function batchAt(i: number, size = 5) {
  const image = Float32Array.from({ length: size * 4 }, (_, p) => Math.sin(i * 31 + p * 1.7));
  const label = Int32Array.from({ length: size }, (_, r) => (i * 3 + r) % C);
  return {
    key: Array.from({ length: size }, (_, r) => `b${i}:${r}`),
    image: { dtype: 'float32' as const, shape: [size, 2, 2, 1], data: image },
    label: { dtype: 'int32' as const, shape: [size], data: label },
  };
}

/** TF's in_top_k kernel, transcribed: out-of-range or non-finite => false, else fewer than k larger. */
function tfInTopK(row: number[], target: number, k: number): boolean {
  if (target < 0 || target >= row.length || !Number.isFinite(row[target])) return false;
  let larger = 0;
  for (const v of row) {
    if (!Number.isFinite(v)) return false;
    if (v > row[target]) larger++;
  }
  return larger < k;
}

describe('inTopK1 and ClassificationTally', () => {
  const logit = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: -2, max: 2 }) }, // small integers: ties are common
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
  );
  const rows = fc.array(
    fc.tuple(fc.array(logit, { minLength: C, maxLength: C }), fc.integer({ min: 0, max: C - 1 })),
    {
      maxLength: 20,
    },
  );

  it("property: matches TF's in_top_k(k = 1), ties with the top counting as correct", () => {
    fc.assert(
      fc.property(rows, (data) => {
        const logits = Float32Array.from(data.flatMap(([row]) => row));
        data.forEach(([row, target], r) => {
          expect(inTopK1(logits, r, C, target)).toBe(tfInTopK(row, target, 1));
        });
      }),
    );
  });

  it('property: the confusion diagonal sums to correct, rows plus non-finite ones to the support', () => {
    fc.assert(
      fc.property(rows, rows, (a, b) => {
        const tally = new ClassificationTally(C);
        for (const part of [a, b]) {
          tally.add(Float32Array.from(part.flatMap(([row]) => row)), Int32Array.from(part.map(([, t]) => t)));
        }
        const all = [...a, ...b];
        const r = tally.result();
        const correct = all.filter(([row, t]) => tfInTopK(row, t, 1)).length;
        const nonFinite = all.filter(([row]) => row.some((v) => !Number.isFinite(v))).length;
        expect(r.count).toBe(all.length);
        expect(r.correct).toBe(correct);
        expect(r.nonFinite).toBe(nonFinite);
        expect(r.precisionAt1).toBe(all.length === 0 ? Number.NaN : correct / all.length);
        expect(r.confusion.reduce((s, row, i) => s + row[i], 0)).toBe(correct);
        for (let c = 0; c < C; c++) {
          const support = all.filter(([, t]) => t === c).length;
          const finiteRows = all.filter(([row, t]) => t === c && row.every(Number.isFinite)).length;
          expect(r.perClass[c].support).toBe(support);
          expect(r.confusion[c].reduce((s, v) => s + v, 0)).toBe(finiteRows);
          const predicted = r.confusion.reduce((s, row) => s + row[c], 0);
          expect(r.perClass[c].precision).toBe(predicted === 0 ? Number.NaN : r.confusion[c][c] / predicted);
          expect(r.perClass[c].recall).toBe(support === 0 ? Number.NaN : r.confusion[c][c] / support);
        }
      }),
    );
  });

  it('puts a wrong row under its first largest logit', () => {
    const tally = new ClassificationTally(3);
    tally.add(Float32Array.of(0, 5, 5, /**/ 1, 2, 3), Int32Array.of(0, 2));
    expect(tally.result().confusion).toEqual([
      [0, 1, 0],
      [0, 0, 0],
      [0, 0, 1],
    ]);
  });

  it('rejects inconsistent input', () => {
    expect(thrownBy(() => new ClassificationTally(0))).toBeInstanceOf(InvalidArgumentError);
    const tally = new ClassificationTally(2);
    expect(thrownBy(() => tally.add(new Float32Array(3), new Int32Array(2))).message).toBe(
      'ClassificationTally: Expected 4 values (2 rows of 2) for logits but received 3',
    );
    expect(thrownBy(() => tally.add(new Float32Array(2), Int32Array.of(2))).message).toBe(
      'ClassificationTally: Expected a class index in [0, 2) for labels[0] but received 2',
    );
  });
});

describe('evaluate', () => {
  it('scores a model on a stream: precision @ 1, confusion and per-class numbers from its logits', async () => {
    const m = model(2);
    const batches = [0, 1, 2, 3].map((i) => batchAt(i));
    const expected = new ClassificationTally(C);
    for (const b of batches) {
      const logits = tf.tidy(() =>
        (m.predict(tf.tensor(b.image.data, b.image.shape)) as tfjs.Tensor).dataSync(),
      );
      expected.add(logits, b.label.data);
    }
    const before = tf.memory().numTensors;
    const result = await evaluate(m, batches);
    expect(tf.memory().numTensors).toBe(before);
    expect(result).toEqual(expected.result());
    expect(result.count).toBe(20);
    expect(result.correct).toBeGreaterThan(0);
    expect(result.correct).toBeLessThan(20);
    m.dispose();
  });

  it('counts every example correct when all logits tie, as in_top_k does', async () => {
    const m = model(3, true);
    const result = await evaluate(m, [batchAt(0), batchAt(1)]);
    expect(result.precisionAt1).toBe(1);
    // labels 0 1 2 3 0 and 3 0 1 2 3: every row on the diagonal
    expect(result.confusion).toEqual([
      [3, 0, 0, 0],
      [0, 2, 0, 0],
      [0, 0, 2, 0],
      [0, 0, 0, 3],
    ]);
    m.dispose();
  });

  it('stops after maxBatches and closes the stream, so an endless eval pipeline works', async () => {
    let pulled = 0;
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield batchAt(i);
        }
      } finally {
        closed = true;
      }
    }
    const m = model(4);
    const result = await evaluate(m, endless(), { maxBatches: 3 });
    expect(result.count).toBe(15);
    expect(pulled).toBe(3);
    expect(closed).toBe(true);
    m.dispose();
  });

  it("scores a trainer through its moving-average weights, with the trainer's fields", async () => {
    const m = model(5);
    const trainer = tfjsTrainer(m, {
      inputs: 'pixels',
      labels: 'y',
      learningRate: 1,
      movingAverageDecay: 0.5,
    });
    const rename = (b: ReturnType<typeof batchAt>) => ({ key: b.key, pixels: b.image, y: b.label });
    for (let i = 0; i < 5; i++) await trainer.step(rename(batchAt(i)));
    const batches = [6, 7, 8].map((i) => rename(batchAt(i)));
    const averaged = new ClassificationTally(C);
    for (const b of batches) {
      const logits = trainer.predict(b);
      averaged.add(logits.dataSync(), b.y.data);
      logits.dispose();
    }
    const before = tf.memory().numTensors;
    const viaTrainer = await evaluate(trainer, batches);
    expect(tf.memory().numTensors).toBe(before);
    expect(viaTrainer).toEqual(averaged.result());
    const raw = await evaluate(m, batches, { inputs: 'pixels', labels: 'y' });
    expect(raw.confusion).not.toEqual(viaTrainer.confusion);
    trainer.dispose();
    m.dispose();
  });

  it('names what is wrong', async () => {
    const m = model(6);
    const b = batchAt(0);
    const cases: [() => Promise<unknown>, typeof InputError, string][] = [
      [
        () => evaluate(m, []),
        InputError,
        'evaluate: Expected at least one example but the batch stream ended without any',
      ],
      [
        () => evaluate(m, [b], { numClasses: 10 }),
        InvalidArgumentError,
        "evaluate: Expected 4 (the model's output size) for numClasses but received 10",
      ],
      [
        () => evaluate(m, [b], { maxBatches: 0 }),
        InvalidArgumentError,
        'evaluate: Expected a positive integer for maxBatches but received 0',
      ],
      [
        () => evaluate({} as tfjs.LayersModel, [b]),
        InvalidArgumentError,
        'evaluate: Expected a tf.LayersModel or a tfjsTrainer for modelOrTrainer but received {}',
      ],
      [
        () => evaluate(m, 5 as never),
        InvalidArgumentError,
        'evaluate: Expected a Stream or an (async) iterable of batches for batches but received 5',
      ],
      [
        () =>
          evaluate(m, [{ ...b, label: { dtype: 'int32', shape: [5], data: Int32Array.of(0, 1, 2, 3, 4) } }]),
        DecodeError,
        'evaluate: Expected class indices in [0, 4) for field label but received 4 at row 4 (key "b0:4")',
      ],
      [
        () => evaluate(m, [{ ...b, image: { dtype: 'float32', shape: [5, 4], data: new Float32Array(20) } }]),
        DecodeError,
        "evaluate: Expected a float32 tensor of shape [B, 2, 2, 1] (the model's input shape [null, 2, 2, 1]) for field image but received a float32 tensor of shape [5, 4]",
      ],
      [
        () => evaluate(m, [{ key: b.key, image: b.image }]),
        DecodeError,
        'evaluate: Expected a field label in the batch (option labels) but the batch has fields [key, image]',
      ],
    ];
    const before = tf.memory().numTensors;
    for (const [run, type, message] of cases) {
      const err = await rejectionOf(run);
      expect(err).toBeInstanceOf(type);
      expect(err.message).toBe(message);
    }
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
