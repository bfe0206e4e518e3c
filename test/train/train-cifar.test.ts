import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { currentTf, loadTf } from '../../src/train/load-tf.js';
import { evalCifar, trainCifar } from '../../src/train/train-cifar.js';
import { makeTempDir, type TempDir } from '../helpers/files.js';
import { FIXTURE_DIR } from '../helpers/fixture.js';

let tmp: TempDir;
beforeAll(async () => {
  // The demo's backend: wasm with inqueue's gradient kernels (cpu is far too slow for a CNN).
  await loadTf({ backends: ['wasm'], log: false });
  tmp = await makeTempDir('train-cifar');
});
afterAll(() => tmp.cleanup());

describe('trainCifar (the demo and inqueue train)', () => {
  it('learns the fixture well above chance in a short run, writes its outputs, and the CLI resumes and evaluates it', async () => {
    const outDir = join(tmp.dir, 'run');
    const lines: string[] = [];
    const r = await trainCifar({
      path: FIXTURE_DIR,
      outDir,
      steps: 40,
      batchSize: 32,
      seed: 1,
      checkpointEvery: 20,
      log: (l) => lines.push(l),
    });
    expect(r.steps).toBe(40);
    expect(r.stoppedBy).toMatch(/reached step 40/);
    // Ten classes: chance is 0.1. Forty small steps already reach about 0.4 (deterministic on wasm).
    expect(r.evaluation!.precisionAt1).toBeGreaterThan(0.25);
    expect(r.evaluation!.count).toBeGreaterThan(900);
    // With prefetch the model, not the input, is the bottleneck.
    expect(r.inputBoundFraction).toBeLessThan(0.05);
    for (const f of [
      'batch.png',
      'summary.csv',
      'loss.png',
      'checkpoints/checkpoint.json',
      'checkpoints/ckpt-40/state.json',
    ])
      expect(existsSync(join(outDir, f)), f).toBe(true);
    const state = JSON.parse(await readFile(join(outDir, 'checkpoints/ckpt-40/state.json'), 'utf8'));
    expect(state.inputPosition).toMatchObject({ kind: 'inqueue.shuffledRecordBatches', batches: 40 });
    expect(lines.some((l) => /^step 40: loss = /.test(l))).toBe(true);
    expect((await readFile(join(outDir, 'summary.csv'), 'utf8')).trim().split('\n')).toHaveLength(41);

    const out: string[] = [];
    const args = ['--out', outDir, '--steps', '43', '--batch', '32', '--eval-batches', '2'];
    expect(await main(['train', FIXTURE_DIR, ...args], (l) => out.push(l))).toBe(0);
    expect(out.join('\n')).toMatch(/resuming from step 40/);
    expect(out.join('\n')).toMatch(/trained to step 43 \(3 steps this run, resumed from 40/);
    expect(out.join('\n')).toMatch(/test precision @ 1: /);

    const evalOut: string[] = [];
    expect(
      await main(['eval', FIXTURE_DIR, '--checkpoint', outDir, '--eval-batches', '3'], (l) =>
        evalOut.push(l),
      ),
    ).toBe(0);
    expect(evalOut.join('\n')).toMatch(/step 43: precision @ 1 = 0\.\d{3} \(\d+\/300\)/);
  }, 120_000);

  it('evaluates a checkpoint trained with another optimizer, and leaves no tensors behind', async () => {
    const tf = currentTf();
    const before = tf.memory().numTensors;
    const outDir = join(tmp.dir, 'momentum');
    const quiet = () => undefined;
    const common = { path: FIXTURE_DIR, outDir, batchSize: 8, log: quiet };
    await trainCifar({ ...common, steps: 2, optimizer: 'adam', evalBatches: 0 });
    const r = await evalCifar({
      path: FIXTURE_DIR,
      checkpoint: outDir,
      evalBatches: 1,
      batchSize: 8,
      log: quiet,
    });
    expect(r).toMatchObject({ step: 2, count: 8 });
    expect(tf.memory().numTensors).toBe(before);
    await expect(evalCifar({ path: FIXTURE_DIR, checkpoint: outDir, evalBatches: 0 })).rejects.toThrow(
      /evalBatches/,
    );
  }, 60_000);

  it('rejects bad options and usage', async () => {
    await expect(trainCifar({ path: FIXTURE_DIR, outDir: '' })).rejects.toThrow(InvalidArgumentError);
    await expect(trainCifar({ path: FIXTURE_DIR, outDir: tmp.dir, steps: 0 })).rejects.toThrow(/steps/);
    await expect(trainCifar({ path: FIXTURE_DIR, outDir: tmp.dir, seconds: -1 })).rejects.toThrow(/seconds/);
    await expect(
      trainCifar({ path: FIXTURE_DIR, outDir: tmp.dir, optimizer: 'rmsprop' as never }),
    ).rejects.toThrow(/optimizer/);
    const quiet = () => undefined;
    expect(await main(['train', FIXTURE_DIR, '--optimizer', 'rmsprop'], quiet)).toBe(2);
    expect(await main(['train', FIXTURE_DIR, '--backend', 'tpu'], quiet)).toBe(2);
    expect(await main(['eval', FIXTURE_DIR], quiet)).toBe(2);
    expect(await main(['train', tmp.dir], quiet)).toBe(1); // not a CIFAR dataset
    expect(await main(['eval', FIXTURE_DIR, '--checkpoint', tmp.dir], quiet)).toBe(1); // no checkpoint
  });
});
