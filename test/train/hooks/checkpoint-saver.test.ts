import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InputError, InvalidArgumentError } from '../../../src/core/errors.js';
// Imported under another name: biome reads a bare `fit(` as a focused test.
import { fit as runFit } from '../../../src/train/fit.js';
import { latestCheckpoint, restoreCheckpoint } from '../../../src/train/hooks/checkpoint-files.js';
import { checkpointSaver } from '../../../src/train/hooks/checkpoint-saver.js';
import { nanLoss } from '../../../src/train/hooks/nan-loss.js';
import { stopAtStep } from '../../../src/train/hooks/stop-at-step.js';
import type { Hook } from '../../../src/train/hooks/types.js';
import { makeTempDir, type TempDir, thrownBy } from '../../helpers/files.js';
import { rejection } from '../../helpers/promises.js';
import { countingSource, type FakeBatch, FakeTrainer, fakeBatches } from '../fake-trainer.js';

const CRASH_CHILD = fileURLToPath(new URL('./crash-resave-child.ts', import.meta.url));
let tmp: TempDir;
let n = 0;
beforeAll(async () => {
  tmp = await makeTempDir('ckpt-saver');
});
afterAll(async () => {
  await tmp.cleanup();
});
const freshDir = () => tmp.path(`run-${n++}`);

/** Batches `from..count-1` whose position() is the index of the next batch, so a run can resume. */
function resumableBatches(count: number, from = 0) {
  let next = from;
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = from; i < count; i++) {
        next = i + 1;
        yield fakeBatches(1, 2, i)[0];
      }
    },
    position: () => ({ next }),
  };
}

/** The fields of the JSON files a checkpoint folder holds (checkpoint.json, state.json, weights.json). */
interface CheckpointJson {
  latest: string;
  all: string[];
  step: number;
  savedAt: string;
  inputPosition: unknown;
  weight: number;
}

async function readJson(file: string): Promise<CheckpointJson> {
  return JSON.parse(await readFile(file, 'utf8'));
}

const failAt = (step: number): Hook<unknown> => ({
  afterStep: (info) => {
    if (info.step === step) throw new Error(`crash at ${step}`);
  },
});

describe('checkpointSaver', () => {
  it('saves every N global steps and at the end, with state.json and the index', async () => {
    const dir = freshDir();
    const trainer = new FakeTrainer();
    const weights: number[] = [];
    const hook = checkpointSaver({ dir, everySteps: 3 });
    const recordWeights: Hook<unknown> = { afterStep: () => void weights.push(trainer.weight) };
    await runFit(resumableBatches(10), trainer, { hooks: [recordWeights, hook] });
    expect((await readdir(dir)).sort()).toEqual(['checkpoint.json', 'ckpt-10', 'ckpt-3', 'ckpt-6', 'ckpt-9']);
    expect(await readJson(join(dir, 'checkpoint.json'))).toEqual({
      latest: 'ckpt-10',
      all: ['ckpt-3', 'ckpt-6', 'ckpt-9', 'ckpt-10'],
    });
    for (const step of [3, 6, 9, 10]) {
      const state = await readJson(join(dir, `ckpt-${step}`, 'state.json'));
      expect(state).toEqual({ step, savedAt: expect.any(String), inputPosition: { next: step } });
      expect(Date.parse(state.savedAt)).not.toBeNaN();
      expect((await readJson(join(dir, `ckpt-${step}`, 'weights.json'))).weight).toBe(weights[step - 1]);
    }
    expect(hook.lastSaved).toEqual({ path: join(dir, 'ckpt-10'), step: 10 });
  });

  it('keeps only the newest `keep` checkpoints and no temp folders', async () => {
    const dir = freshDir();
    await runFit(countingSource(fakeBatches(20)), new FakeTrainer(), {
      hooks: [checkpointSaver({ dir, everySteps: 2, keep: 3 })],
    });
    expect((await readdir(dir)).sort()).toEqual(['checkpoint.json', 'ckpt-16', 'ckpt-18', 'ckpt-20']);
    expect((await readJson(join(dir, 'checkpoint.json'))).all).toEqual(['ckpt-16', 'ckpt-18', 'ckpt-20']);
  });

  it('property: the folder holds the newest min(saves, keep) checkpoints, named in the index', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (steps, everySteps, keep, saveAtEnd) => {
          const dir = freshDir();
          await runFit(countingSource(fakeBatches(steps)), new FakeTrainer(), {
            hooks: [checkpointSaver({ dir, everySteps, keep, saveAtEnd })],
          });
          const saved: number[] = [];
          for (let s = everySteps; s <= steps; s += everySteps) saved.push(s);
          if (saveAtEnd && saved.at(-1) !== steps) saved.push(steps);
          const expected = saved.slice(-keep).map((s) => `ckpt-${s}`);
          const entries = (await readdir(dir)).filter((e) => e !== 'checkpoint.json');
          expect(entries.sort()).toEqual([...expected].sort());
          if (expected.length > 0) {
            expect(await readJson(join(dir, 'checkpoint.json'))).toEqual({
              latest: expected.at(-1),
              all: expected,
            });
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('never saves the weights of a step whose loss was NaN (nanLoss({ fail: false }) only stops)', async () => {
    const dir = freshDir();
    const trainer = new FakeTrainer({ loss: (i) => (i === 2 ? Number.NaN : 1) });
    const r = await runFit(countingSource(fakeBatches(10)), trainer, {
      hooks: [nanLoss({ fail: false }), checkpointSaver({ dir, everySteps: 3 })],
    });
    expect(r.stoppedBy).toBe('hook');
    expect(trainer.saves).toHaveLength(0);
    expect(await latestCheckpoint(dir)).toBeUndefined();
  });

  it('a crash while re-saving a step never leaves the index naming a missing checkpoint', async () => {
    for (const earlier of [[2], [1, 2]]) {
      const dir = freshDir();
      // Checkpoints at the given steps, then a run restarted from scratch that re-saves step 2 and
      // is killed between moving the old ckpt-2 aside and renaming the new one in.
      await runFit(countingSource(fakeBatches(4)), new FakeTrainer(), {
        hooks: [stopAtStep(2), checkpointSaver({ dir, everySteps: earlier.length === 2 ? 1 : 2 })],
      });
      const child = spawnSync(process.execPath, ['--import', 'tsx', CRASH_CHILD, dir], { encoding: 'utf8' });
      expect(child.signal).toBe('SIGKILL');
      const latest = await latestCheckpoint(dir);
      if (earlier.length === 1)
        expect(latest).toBeUndefined(); // nothing whole left to name
      else expect(latest?.step).toBe(1); // the older whole checkpoint
      const trainer = new FakeTrainer();
      expect((await restoreCheckpoint(dir, trainer))?.step).toBe(latest?.step);
    }
  });

  it('does not save the same step twice, nor at the end when saveAtEnd is false', async () => {
    const twice = new FakeTrainer();
    await runFit(countingSource(fakeBatches(6)), twice, {
      hooks: [checkpointSaver({ dir: freshDir(), everySteps: 3 })],
    });
    expect(twice.saves).toHaveLength(2);
    const noEnd = new FakeTrainer();
    const dir = freshDir();
    await runFit(countingSource(fakeBatches(5)), noEnd, {
      hooks: [checkpointSaver({ dir, everySteps: 3, saveAtEnd: false })],
    });
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['ckpt-3']));
    expect(noEnd.saves).toHaveLength(1);
  });

  it('saves nothing at the end of a failed run or of a run without steps', async () => {
    const failed = freshDir();
    const err = await rejection(
      runFit(countingSource(fakeBatches(10)), new FakeTrainer(), {
        hooks: [checkpointSaver({ dir: failed, everySteps: 4 }), failAt(6)],
      }),
    );
    expect(err.message).toBe('crash at 6');
    expect((await readJson(join(failed, 'checkpoint.json'))).all).toEqual(['ckpt-4']);
    const empty = freshDir();
    const trainer = new FakeTrainer();
    await runFit(countingSource(fakeBatches(0)), trainer, {
      hooks: [checkpointSaver({ dir: empty, everySteps: 4 })],
    });
    expect(trainer.saves).toEqual([]);
    expect(await readdir(empty)).toEqual([]);
  });

  it('saves every N seconds', async () => {
    const dir = freshDir();
    const trainer = new FakeTrainer({ stepMs: 25 });
    await runFit(countingSource(fakeBatches(12)), trainer, {
      hooks: [checkpointSaver({ dir, everySeconds: 0.1, keep: 100, saveAtEnd: false })],
    });
    const names: string[] = (await readJson(join(dir, 'checkpoint.json'))).all;
    // ~12 * 25 ms = 300 ms of steps: about every fourth step.
    expect(names.length).toBeGreaterThanOrEqual(1);
    expect(names.length).toBeLessThanOrEqual(4);
    const times = await Promise.all(
      names.map(async (c) => Date.parse((await readJson(join(dir, c, 'state.json'))).savedAt)),
    );
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(95);
  });

  it('resumes: a run stopped and restored ends with the weights of a run that never stopped', async () => {
    const straight = new FakeTrainer();
    await runFit(resumableBatches(12), straight);

    const dir = freshDir();
    const first = new FakeTrainer();
    const crash = await rejection(
      runFit(resumableBatches(12), first, { hooks: [checkpointSaver({ dir, everySteps: 5 }), failAt(8)] }),
    );
    expect(crash.message).toBe('crash at 8');

    const second = new FakeTrainer();
    const restored = await restoreCheckpoint(dir, second);
    expect(restored).toEqual({ step: 5, inputPosition: { next: 5 } });
    const from = (restored!.inputPosition as { next: number }).next;
    const result = await runFit(resumableBatches(12, from), second, {
      initialStep: restored!.step,
      hooks: [checkpointSaver({ dir, everySteps: 5 })],
    });
    expect(result).toMatchObject({ steps: 12, stepsRun: 7 });
    expect(second.weight).toBe(straight.weight);
    expect(second.seen).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect((await readJson(join(dir, 'checkpoint.json'))).all).toEqual(['ckpt-5', 'ckpt-10', 'ckpt-12']);
    expect(await latestCheckpoint(dir)).toMatchObject({ step: 12, inputPosition: { next: 12 } });
  });

  it('replaces a checkpoint of the same step left by an earlier run', async () => {
    const dir = freshDir();
    await runFit(countingSource(fakeBatches(3)), new FakeTrainer(), {
      hooks: [checkpointSaver({ dir, everySteps: 3 })],
    });
    const trainer = new FakeTrainer();
    await runFit(countingSource(fakeBatches(3, 2, 100)), trainer, {
      hooks: [checkpointSaver({ dir, everySteps: 3 })],
    });
    expect((await readJson(join(dir, 'ckpt-3', 'weights.json'))).weight).toBe(trainer.weight);
    expect((await readdir(dir)).sort()).toEqual(['checkpoint.json', 'ckpt-3']);
    expect((await readJson(join(dir, 'checkpoint.json'))).all).toEqual(['ckpt-3']);
  });

  it('leaves no half checkpoint when trainer.save fails, and keeps the index as it was', async () => {
    const dir = freshDir();
    const trainer = new FakeTrainer();
    const save = trainer.save!;
    trainer.save = async (into) => {
      if (trainer.done === 4) {
        await writeFile(join(into, 'partial.bin'), 'half');
        throw new Error('disk full');
      }
      return save(into);
    };
    const err = await rejection(
      runFit(countingSource(fakeBatches(10)), trainer, { hooks: [checkpointSaver({ dir, everySteps: 2 })] }),
    );
    expect(err.message).toBe('disk full');
    expect((await readdir(dir)).sort()).toEqual(['checkpoint.json', 'ckpt-2']);
    expect(await readJson(join(dir, 'checkpoint.json'))).toEqual({ latest: 'ckpt-2', all: ['ckpt-2'] });
  });

  it('fails on an input position that JSON cannot hold, leaving no checkpoint', async () => {
    const dir = freshDir();
    const batches = Object.assign(countingSource(fakeBatches(3)), { position: () => ({ offset: 10n }) });
    const err = await rejection(
      runFit(batches, new FakeTrainer(), { hooks: [checkpointSaver({ dir, everySteps: 1 })] }),
    );
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^checkpointSaver: the input position is not JSON-serializable/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the temp folders of interrupted saves when a run begins', async () => {
    const dir = freshDir();
    await mkdir(join(dir, '.tmp-ckpt-40-deadbeef'), { recursive: true });
    await writeFile(join(dir, '.tmp-ckpt-40-deadbeef', 'weights.json'), '{');
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await runFit(countingSource(fakeBatches(1)), new FakeTrainer(), {
      hooks: [checkpointSaver({ dir, everySteps: 5 })],
    });
    expect((await readdir(dir)).sort()).toEqual(['checkpoint.json', 'ckpt-1', 'notes.txt']);
  });

  it('fails at the start, before any batch, for a trainer without save or a corrupt index', async () => {
    const source = countingSource(fakeBatches(3));
    const noSave = await rejection(
      runFit(source, new FakeTrainer({ noCheckpoints: true }), {
        hooks: [checkpointSaver({ dir: freshDir(), everySteps: 1 })],
      }),
    );
    expect(noSave).toBeInstanceOf(InvalidArgumentError);
    expect(noSave.message).toMatch(
      /^checkpointSaver: Expected a Trainer with a save\(dir\) method for trainer/,
    );

    const dir = freshDir();
    await mkdir(dir);
    await writeFile(join(dir, 'checkpoint.json'), '{"latest": ');
    const corrupt = await rejection(
      runFit(source, new FakeTrainer(), { hooks: [checkpointSaver({ dir, everySteps: 1 })] }),
    );
    expect(corrupt).toBeInstanceOf(DecodeError);
    expect(corrupt.message).toContain(
      `checkpointSaver: ${join(dir, 'checkpoint.json')} is not a valid checkpoint file`,
    );
    expect(source.pulls).toBe(0);
  });

  it('works with stopAtStep: the final step is saved once', async () => {
    const dir = freshDir();
    const trainer = new FakeTrainer();
    await runFit(countingSource(fakeBatches(100)), trainer, {
      hooks: [stopAtStep(7), checkpointSaver({ dir, everySteps: 5 })],
    });
    expect((await readJson(join(dir, 'checkpoint.json'))).all).toEqual(['ckpt-5', 'ckpt-7']);
    expect(trainer.saves).toHaveLength(2);
  });

  it('rejects bad options', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /Expected a folder path \(a non-empty string\) for dir but received undefined/],
      [{ dir: '' }, /for dir but received ""/],
      [{ dir: 'x' }, /Expected exactly one of everySteps and everySeconds for everySteps but received \{\}/],
      [{ dir: 'x', everySteps: 2, everySeconds: 5 }, /exactly one of everySteps and everySeconds/],
      [{ dir: 'x', everySteps: 0 }, /Expected a positive integer for everySteps but received 0/],
      [{ dir: 'x', everySeconds: -1 }, /Expected a positive finite number for everySeconds but received -1/],
      [{ dir: 'x', everySteps: 1, keep: 0 }, /Expected a positive integer for keep but received 0/],
      [{ dir: 'x', everySteps: 1, saveAtEnd: 'no' }, /Expected a boolean for saveAtEnd/],
      ['dir', /Expected an options object for options/],
    ];
    for (const [options, message] of cases) {
      const err = thrownBy(() => checkpointSaver(options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^checkpointSaver: /);
      expect(err.message).toMatch(message);
    }
  });
});

// Type check: the hook fits a runFit() call over any batch type.
void ((batches: AsyncIterable<FakeBatch>, trainer: FakeTrainer) =>
  runFit(batches, trainer, { hooks: [checkpointSaver({ dir: 'x', everySteps: 1 })] }));
