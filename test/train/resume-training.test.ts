import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distortedInputs } from '../../src/datasets/cifar.js';
import type { DistortedCifarBatch } from '../../src/image/distort-cifar-batch.js';
import { fit as runFit } from '../../src/train/fit.js';
import { restoreCheckpoint } from '../../src/train/hooks/checkpoint-files.js';
import { checkpointSaver } from '../../src/train/hooks/checkpoint-saver.js';
import { stopAtStep } from '../../src/train/hooks/stop-at-step.js';
import { currentTf, loadTf, type TfNamespace } from '../../src/train/load-tf.js';
import { type TfjsTrainer, tfjsTrainer } from '../../src/train/tfjs-trainer.js';
import { makeTempDir, type TempDir } from '../helpers/files.js';
import { FIXTURE_DIR } from '../helpers/fixture.js';

let tf: TfNamespace;
let tmp: TempDir;

beforeAll(async () => {
  await loadTf({ backends: ['cpu'], log: false });
  tf = currentTf();
  tmp = await makeTempDir('resume-training');
});
afterAll(() => tmp.cleanup());

/** A small conv net over 24x24x3 distorted images, seeded: cheap on the cpu backend. */
function smallModel(): tfjs.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [24, 24, 3],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, kernelInitializer: init(2) }),
    ],
  });
}

const makeTrainer = () =>
  tfjsTrainer(smallModel(), {
    optimizer: 'momentum',
    learningRate: (s) => 0.05 * 0.9 ** s,
    movingAverageDecay: 0.99,
  });

const digest = (b: DistortedCifarBatch) =>
  createHash('sha256')
    .update(JSON.stringify(b.key))
    .update(new Uint8Array(b.image.data.buffer, b.image.data.byteOffset, b.image.data.byteLength))
    .digest('hex');

/** The trainer, recording what each step trained on. */
function recording(trainer: TfjsTrainer, seen: string[]): TfjsTrainer {
  return Object.assign(Object.create(trainer) as TfjsTrainer, {
    step: (b: object) => {
      seen.push(digest(b as DistortedCifarBatch));
      return trainer.step(b);
    },
  });
}

const weights = (t: TfjsTrainer) => t.model.getWeights().map((w) => Array.from(w.dataSync()));
const input = (resume?: unknown) =>
  distortedInputs({ path: FIXTURE_DIR, batchSize: 16, seed: 11, resume: resume as never });

describe('checkpoint and resume of a whole training run', () => {
  it('stopped at step k and resumed: the same batches from k+1 on and the same final weights (cpu)', async () => {
    const straightSeen: string[] = [];
    const straight = makeTrainer();
    await runFit(await input(), recording(straight, straightSeen), { hooks: [stopAtStep(7)] });

    const dir = join(tmp.dir, 'ckpt');
    const firstSeen: string[] = [];
    const first = makeTrainer();
    await runFit(await input(), recording(first, firstSeen), {
      hooks: [stopAtStep(3), checkpointSaver({ dir, everySteps: 100 })],
    });
    first.dispose();

    const resumedSeen: string[] = [];
    const resumed = makeTrainer();
    const restored = await restoreCheckpoint(dir, resumed);
    expect(restored?.step).toBe(3);
    await runFit(await input(restored?.inputPosition), recording(resumed, resumedSeen), {
      hooks: [stopAtStep(7)],
      initialStep: restored?.step,
    });

    expect(firstSeen).toEqual(straightSeen.slice(0, 3));
    expect(resumedSeen).toEqual(straightSeen.slice(3));
    expect(resumed.globalStep()).toBe(7);
    expect(weights(resumed)).toEqual(weights(straight));
    // The moving averages (what evaluation uses) agree too.
    const avg = (t: TfjsTrainer) => t.withAveragedWeights(() => weights(t));
    expect(avg(resumed)).toEqual(avg(straight));
    straight.dispose();
    resumed.dispose();
  }, 60_000);
});
