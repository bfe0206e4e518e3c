import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InvalidArgumentError, NotFoundError } from '../../src/core/errors.js';
import { currentTf, loadTf, type TfNamespace } from '../../src/train/load-tf.js';
import {
  loadModel,
  loadNamedTensors,
  loadWeightsInto,
  saveModel,
  saveNamedTensors,
  writeFileAtomically,
} from '../../src/train/model-files.js';
import { makeTempDir, rejectionOf, type TempDir } from '../helpers/files.js';

let tf: TfNamespace;
let tmp: TempDir;
let folders = 0;
const folder = () => join(tmp.dir, `m${folders++}`);

beforeAll(async () => {
  await loadTf({ backends: ['cpu'], log: false });
  tf = currentTf();
  tmp = await makeTempDir('model-files');
});
afterAll(() => tmp.cleanup());

/** conv -> pool -> flatten -> dense: every kind of weight a small CNN has. */
function tinyCnn(seed: number, units = 3): tfjs.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units, kernelInitializer: init(2), biasInitializer: 'ones' }),
    ],
  });
}

const input = () =>
  tf.tensor4d(
    Float32Array.from({ length: 2 * 72 }, (_, i) => Math.sin(i)),
    [2, 6, 6, 2],
  );

async function outputOf(model: tfjs.LayersModel): Promise<Float32Array> {
  const x = input();
  const y = model.predict(x) as tfjs.Tensor;
  const data = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return data;
}

async function weightsOf(model: tfjs.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.weights.map(async (w) => (await w.read().data()) as Float32Array));
}

describe('saveModel / loadModel', () => {
  it('round-trips topology and weights bit for bit, in the file:// handler layout', async () => {
    const model = tinyCnn(1);
    const dir = folder();
    await saveModel(model, dir);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']); // no temp files left
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.map((w: { shape: number[] }) => w.shape)).toEqual([
      [3, 3, 2, 4],
      [4],
      [16, 3],
      [3],
    ]);
    expect((await readFile(join(dir, 'weights.bin'))).length).toBe((72 + 4 + 48 + 3) * 4);

    const loaded = await loadModel(dir);
    expect(await weightsOf(loaded)).toEqual(await weightsOf(model));
    expect(await outputOf(loaded)).toEqual(await outputOf(model));
    const viaJson = await loadModel(join(dir, 'model.json'));
    expect(await outputOf(viaJson)).toEqual(await outputOf(model));
    tf.dispose([model, loaded, viaJson].flatMap((m) => m.weights.map((w) => w.read())));
  });

  it('loads weights split over several shards, as tfjs-converter writes them', async () => {
    const model = tinyCnn(2);
    const dir = folder();
    await saveModel(model, dir);
    const bytes = await readFile(join(dir, 'weights.bin'));
    await writeFile(join(dir, 'group1-shard1of2.bin'), bytes.subarray(0, 100));
    await writeFile(join(dir, 'group1-shard2of2.bin'), bytes.subarray(100));
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    const loaded = await loadModel(dir);
    expect(await outputOf(loaded)).toEqual(await outputOf(model));
    loaded.dispose();
    model.dispose();
  });

  it('leaves the tensor count where it was once the loaded model is disposed', async () => {
    const model = tinyCnn(3);
    const dir = folder();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await saveModel(model, dir);
      (await loadModel(dir)).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('names the missing model.json', async () => {
    const dir = folder();
    const err = await rejectionOf(() => loadModel(dir));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(
      `loadModel: Expected a model folder with model.json at ${join(dir, 'model.json')} but it does not exist`,
    );
    expect((err as NotFoundError).file).toBe(join(dir, 'model.json'));
  });

  it('names a missing, truncated or oversized weights file with the sizes', async () => {
    const model = tinyCnn(4);
    const dir = folder();
    await saveModel(model, dir);
    const bin = join(dir, 'weights.bin');
    const bytes = await readFile(bin);

    await writeFile(bin, bytes.subarray(0, bytes.length - 4));
    let err = await rejectionOf(() => loadModel(dir));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toBe(
      `loadModel: weights.bin in ${dir} hold ${bytes.length - 4} bytes but the weightsManifest of ${join(dir, 'model.json')} describes ${bytes.length}`,
    );

    await writeFile(bin, Buffer.concat([bytes, Buffer.alloc(1)]));
    err = await rejectionOf(() => loadModel(dir));
    expect(err.message).toContain(`hold ${bytes.length + 1} bytes`);

    const { rm } = await import('node:fs/promises');
    await rm(bin);
    err = await rejectionOf(() => loadModel(dir));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(
      `loadModel: Expected the weights file that ${join(dir, 'model.json')} names at ${bin} but it does not exist`,
    );
    model.dispose();
  });

  it('names a model.json that is not JSON, lacks a topology or a manifest, or points outside its folder', async () => {
    const dir = folder();
    const file = join(dir, 'model.json');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });

    await writeFile(file, '{"modelTopology": ');
    let err = await rejectionOf(() => loadModel(dir));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toMatch(new RegExp(`^loadModel: ${escapeRegExp(file)} is not valid JSON: `));

    await writeFile(file, JSON.stringify({ weightsManifest: [] }));
    err = await rejectionOf(() => loadModel(dir));
    expect(err.message).toBe(`loadModel: Expected a modelTopology object in ${file} but it has none`);

    await writeFile(file, JSON.stringify({ modelTopology: {}, weightsManifest: {} }));
    err = await rejectionOf(() => loadModel(dir));
    expect(err.message).toBe(
      `loadModel: Expected a weightsManifest (a list of { paths, weights }) in ${file} but received {}`,
    );

    await writeFile(
      file,
      JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['../x.bin'], weights: [] }] }),
    );
    err = await rejectionOf(() => loadModel(dir));
    expect(err.message).toBe(`loadModel: ${file} names a weights file outside its folder: "../x.bin"`);

    await writeFile(file, JSON.stringify({ modelTopology: { nonsense: 1 }, weightsManifest: [] }));
    err = await rejectionOf(() => loadModel(dir));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toMatch(
      new RegExp(`^loadModel: ${escapeRegExp(file)} does not describe a loadable tfjs LayersModel: `),
    );
  });

  it('rejects bad arguments', async () => {
    expect(await rejectionOf(() => saveModel({} as tfjs.LayersModel, folder()))).toBeInstanceOf(
      InvalidArgumentError,
    );
    const model = tinyCnn(5);
    const err = await rejectionOf(() => saveModel(model, ''));
    expect(err.message).toBe('saveModel: Expected a folder path for dir but received ""');
    expect((await rejectionOf(() => loadModel(3 as unknown as string))).message).toBe(
      'loadModel: Expected a folder path for dir but received 3',
    );
    model.dispose();
  });
});

describe('loadWeightsInto', () => {
  it('gives a second instance of the architecture (other layer names) the saved weights', async () => {
    const a = tinyCnn(6);
    const b = tinyCnn(7);
    expect(a.weights[0].originalName).not.toBe(b.weights[0].originalName);
    expect(await outputOf(b)).not.toEqual(await outputOf(a));
    const dir = folder();
    await saveModel(a, dir);
    const before = tf.memory().numTensors;
    await loadWeightsInto(b, dir);
    expect(tf.memory().numTensors).toBe(before);
    expect(await weightsOf(b)).toEqual(await weightsOf(a));
    expect(await outputOf(b)).toEqual(await outputOf(a));
    a.dispose();
    b.dispose();
  });

  it('restores weights bit for bit even where a weight constraint would rescale them', async () => {
    const constrained = (seed: number) =>
      tf.sequential({
        layers: [
          tf.layers.dense({
            inputShape: [3],
            units: 2,
            kernelConstraint: tf.constraints.maxNorm({ maxValue: 0.5 }),
            kernelInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed }),
          }),
        ],
      });
    const a = constrained(1);
    const dir = folder();
    await saveModel(a, dir);
    const b = constrained(2);
    await loadWeightsInto(b, dir);
    const bits = (m: tfjs.LayersModel) =>
      Buffer.from((m.weights[0].read().dataSync() as Float32Array).buffer);
    expect(bits(b)).toEqual(bits(a));
    // What a constrained write would have stored instead:
    const rescaled = tf.tidy(() =>
      tf.constraints.maxNorm({ maxValue: 0.5 }).apply(a.weights[0].read()).dataSync(),
    );
    expect(Buffer.from((rescaled as Float32Array).buffer)).not.toEqual(bits(a));
    a.dispose();
    b.dispose();
  });

  it('checks counts and shapes before changing any weight', async () => {
    const a = tinyCnn(8, 3);
    const wider = tinyCnn(9, 5);
    const dir = folder();
    await saveModel(a, dir);
    const original = await weightsOf(wider);
    let err = await rejectionOf(() => loadWeightsInto(wider, dir));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toMatch(
      new RegExp(
        `^loadWeightsInto: weight 2 \\(\\S+/kernel\\) in ${escapeRegExp(join(dir, 'model.json'))} has shape \\[16, 3\\] but the model's weight 2 \\(\\S+/kernel\\) has shape \\[16, 5\\]$`,
      ),
    );
    expect(await weightsOf(wider)).toEqual(original);

    const shallow = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
    err = await rejectionOf(() => loadWeightsInto(shallow, dir));
    expect(err.message).toBe(
      `loadWeightsInto: ${join(dir, 'model.json')} lists 4 weights but the model has 2: the saved model has another architecture`,
    );
    tf.dispose([a, wider, shallow].flatMap((m) => m.weights.map((w) => w.read())));
  });
});

describe('saveNamedTensors / loadNamedTensors', () => {
  it('property: round-trips names, dtypes, shapes and exact bytes (NaNs included)', async () => {
    const entry = fc.record({
      name: fc.string({ maxLength: 12 }),
      dtype: fc.constantFrom('float32' as const, 'int32' as const),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      seed: fc.integer(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 5 }), async (entries) => {
        const tensors = entries.map((e) => {
          const n = e.shape.reduce((a, d) => a * d, 1);
          const bits = Int32Array.from({ length: n }, (_, i) => Math.imul(e.seed ^ i, 2654435761));
          const values = e.dtype === 'int32' ? bits : new Float32Array(bits.buffer);
          return { name: e.name, tensor: tf.tensor(values, e.shape, e.dtype) };
        });
        const file = join(tmp.dir, `named-${run++}.bin`);
        await saveNamedTensors(tensors, file);
        const back = await loadNamedTensors(file);
        expect(back.map((b) => [b.name, b.tensor.dtype, b.tensor.shape])).toEqual(
          tensors.map((t) => [t.name, t.tensor.dtype, t.tensor.shape]),
        );
        for (const [i, b] of back.entries()) {
          const want = tensors[i].tensor.dataSync();
          const got = b.tensor.dataSync();
          expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength)).toEqual(
            Buffer.from(want.buffer, want.byteOffset, want.byteLength),
          );
        }
        tf.dispose([...tensors, ...back].map((t) => t.tensor));
      }),
      { numRuns: 40 },
    );
  });

  it('allocates nothing it does not return', async () => {
    const file = join(tmp.dir, 'leak.bin');
    const t = tf.tensor([1, 2, 3]);
    const before = tf.memory().numTensors;
    await saveNamedTensors([{ name: 'a', tensor: t }], file);
    const back = await loadNamedTensors(file);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([t, back[0].tensor]);
  });

  it('names the file that is missing, short, foreign or inconsistent', async () => {
    const file = join(tmp.dir, 'good.bin');
    const t = tf.tensor([1, 2, 3, 4], [2, 2]);
    await saveNamedTensors([{ name: 'w', tensor: t }], file);
    const good = await readFile(file);
    t.dispose();
    const variant = async (name: string, bytes: Uint8Array) => {
      const f = join(tmp.dir, name);
      await writeFile(f, bytes);
      return { f, err: await rejectionOf(() => loadNamedTensors(f)) };
    };
    const missing = join(tmp.dir, 'absent.bin');
    const err0 = await rejectionOf(() => loadNamedTensors(missing));
    expect(err0).toBeInstanceOf(NotFoundError);
    expect(err0.message).toBe(
      `loadNamedTensors: Expected a named-tensors file at ${missing} but it does not exist`,
    );

    const short = await variant('short.bin', good.subarray(0, 3));
    expect(short.err).toBeInstanceOf(DecodeError);
    expect(short.err.message).toBe(
      `loadNamedTensors: ${short.f} is not a named-tensors file written by saveNamedTensors: it holds only 3 bytes`,
    );
    const huge = Buffer.from(good);
    huge.writeUInt32LE(1 << 30, 0);
    expect((await variant('huge.bin', huge)).err.message).toMatch(
      /its header claims 1073741824 bytes of \d+$/,
    );
    const notJson = Buffer.from(good);
    notJson[4] = 0x7a;
    expect((await variant('notjson.bin', notJson)).err.message).toMatch(/its header is not JSON/);
    const headLength = good.readUInt32LE(0);
    const foreign = Buffer.from(good);
    foreign.write('x', good.indexOf('inqueue-named-tensors'));
    expect((await variant('foreign.bin', foreign)).err.message).toMatch(
      /its header names format "xnqueue-named-tensors" version 1$/,
    );
    const longer = await variant('longer.bin', Buffer.concat([good, Buffer.alloc(4)]));
    expect(longer.err.message).toBe(
      `loadNamedTensors: ${longer.f} holds ${good.length - 4 - headLength + 4} bytes of tensor data but its header describes 16`,
    );
    const shorter = await variant('shorter.bin', good.subarray(0, good.length - 4));
    expect(shorter.err.message).toContain('holds 12 bytes of tensor data but its header describes 16');
  });

  it('rejects tensors it cannot store, naming them', async () => {
    const b = tf.tensor([true, false], [2], 'bool');
    const err = await rejectionOf(() =>
      saveNamedTensors([{ name: 'flags', tensor: b }], join(tmp.dir, 'bool.bin')),
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe(
      'saveNamedTensors: Expected a float32 or int32 tensor for tensors[0] (flags) but received "bool"',
    );
    expect(
      (await rejectionOf(() => saveNamedTensors([{ name: 'x' } as never], join(tmp.dir, 'x.bin')))).message,
    ).toBe(
      'saveNamedTensors: Expected a { name: string, tensor: tf.Tensor } for tensors[0] but received {"name":"x"}',
    );
    b.dispose();
  });
});

describe('writeFileAtomically', () => {
  it('replaces the file and leaves no temporary file', async () => {
    const sub = await makeTempDir('atomic');
    const file = join(sub.dir, 'f.txt');
    await writeFileAtomically(file, 'one');
    await writeFileAtomically(file, 'two');
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(sub.dir)).toEqual(['f.txt']);
    const err = await rejectionOf(() => writeFileAtomically(join(sub.dir, 'no', 'such', 'f'), 'x'));
    expect((err as { code?: string }).code).toBe('ENOENT');
    expect(await readdir(sub.dir)).toEqual(['f.txt']);
    await sub.cleanup();
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
