import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InvalidArgumentError, NotFoundError } from '../../../src/core/errors.js';
import {
  latestCheckpoint,
  readCheckpointIndex,
  restoreCheckpoint,
  writeCheckpointIndex,
} from '../../../src/train/hooks/checkpoint-files.js';
import { makeTempDir, type TempDir } from '../../helpers/files.js';
import { rejection } from '../../helpers/promises.js';
import { FakeTrainer } from '../fake-trainer.js';

let tmp: TempDir;
let n = 0;
beforeAll(async () => {
  tmp = await makeTempDir('ckpt-files');
});
afterAll(async () => {
  await tmp.cleanup();
});

/** A fresh checkpoint folder with the given checkpoints (name -> state.json text) and index text. */
async function folder(checkpoints: Record<string, string>, index?: string): Promise<string> {
  const dir = tmp.path(`case-${n++}`);
  await mkdir(dir);
  for (const [name, state] of Object.entries(checkpoints)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'state.json'), state);
    await writeFile(join(dir, name, 'weights.json'), JSON.stringify({ weight: 42, done: 7 }));
  }
  if (index !== undefined) await writeFile(join(dir, 'checkpoint.json'), index);
  return dir;
}

const state = (step: number, inputPosition?: unknown) =>
  JSON.stringify({ step, savedAt: '2025-01-01T00:00:00.000Z', inputPosition });

describe('latestCheckpoint', () => {
  it('is undefined for a folder without an index, or no folder at all', async () => {
    expect(await latestCheckpoint(await folder({}))).toBeUndefined();
    expect(await latestCheckpoint(tmp.path('missing'))).toBeUndefined();
  });

  it("reads the index's latest checkpoint with its step and input position", async () => {
    const dir = await folder(
      { 'ckpt-10': state(10, { epoch: 0 }), 'ckpt-20': state(20, { epoch: 1, offset: [3, 4] }) },
      JSON.stringify({ latest: 'ckpt-20', all: ['ckpt-10', 'ckpt-20'] }),
    );
    expect(await latestCheckpoint(dir)).toEqual({
      path: join(dir, 'ckpt-20'),
      step: 20,
      inputPosition: { epoch: 1, offset: [3, 4] },
      savedAt: '2025-01-01T00:00:00.000Z',
    });
  });

  it('gives an undefined input position when none was saved', async () => {
    const dir = await folder({ 'ckpt-0': state(0) }, JSON.stringify({ latest: 'ckpt-0', all: ['ckpt-0'] }));
    expect((await latestCheckpoint(dir))?.inputPosition).toBeUndefined();
  });

  it('names the index file when it is not JSON or not an index', async () => {
    const bad = [
      '{"latest": "ckpt-1", "all": [',
      '[]',
      'null',
      JSON.stringify({ latest: 'ckpt-2', all: ['ckpt-1'] }),
      JSON.stringify({ latest: 'ckpt-1' }),
      JSON.stringify({ latest: '../etc', all: ['../etc'] }),
      JSON.stringify({ latest: 'ckpt-01', all: ['ckpt-01'] }),
      JSON.stringify({ latest: 3, all: [3] }),
    ];
    for (const text of bad) {
      const dir = await folder({ 'ckpt-1': state(1) }, text);
      const err = await rejection(latestCheckpoint(dir));
      expect(err).toBeInstanceOf(DecodeError);
      const file = join(dir, 'checkpoint.json');
      expect(err.message).toContain(`latestCheckpoint: ${file} is not a valid checkpoint file`);
      expect((err as DecodeError).file).toBe(file);
    }
  });

  it('names the state file when it is missing or corrupt', async () => {
    const index = JSON.stringify({ latest: 'ckpt-5', all: ['ckpt-5'] });
    const missing = await folder({}, index);
    const notFound = await rejection(latestCheckpoint(missing));
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound.message).toBe(
      `latestCheckpoint: ${join(missing, 'ckpt-5', 'state.json')} does not exist`,
    );
    for (const text of [
      '{',
      '{"step": -1, "savedAt": "x"}',
      '{"step": 1.5, "savedAt": "x"}',
      '{"step": 5}',
    ]) {
      const dir = await folder({ 'ckpt-5': text }, index);
      const err = await rejection(latestCheckpoint(dir));
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).file).toBe(join(dir, 'ckpt-5', 'state.json'));
    }
  });

  it('reports an index that cannot be read', async () => {
    const dir = await folder({});
    await mkdir(join(dir, 'checkpoint.json'));
    const err = await rejection(latestCheckpoint(dir));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toMatch(/^latestCheckpoint: cannot read .*checkpoint\.json: EISDIR/);
  });

  it('rejects a bad folder argument', async () => {
    const err = await rejection(latestCheckpoint('' as string));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe(
      'latestCheckpoint: Expected a folder path (a non-empty string) for dir but received ""',
    );
  });
});

describe('restoreCheckpoint', () => {
  it('loads the latest checkpoint into the trainer and returns its step and input position', async () => {
    const dir = await folder(
      { 'ckpt-7': state(7, { batches: 7 }) },
      JSON.stringify({ latest: 'ckpt-7', all: ['ckpt-7'] }),
    );
    const trainer = new FakeTrainer();
    expect(await restoreCheckpoint(dir, trainer)).toEqual({ step: 7, inputPosition: { batches: 7 } });
    expect(trainer.loads).toEqual([join(dir, 'ckpt-7')]);
    expect(trainer.weight).toBe(42);
  });

  it('loads nothing and returns undefined when there is no checkpoint yet', async () => {
    const trainer = new FakeTrainer();
    expect(await restoreCheckpoint(await folder({}), trainer)).toBeUndefined();
    expect(trainer.loads).toEqual([]);
  });

  it('rejects a trainer without load, and a bad folder', async () => {
    const dir = await folder({});
    const err = await rejection(restoreCheckpoint(dir, new FakeTrainer({ noCheckpoints: true })));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(
      /^restoreCheckpoint: Expected a Trainer with a load\(dir\) method for trainer/,
    );
    expect((await rejection(restoreCheckpoint(dir, null as never))).message).toMatch(
      /for trainer but received null/,
    );
    expect((await rejection(restoreCheckpoint(5 as never, new FakeTrainer()))).message).toMatch(
      /^restoreCheckpoint: Expected a folder path .* for dir but received 5$/,
    );
  });

  it('propagates a load failure', async () => {
    const dir = await folder({ 'ckpt-1': state(1) }, JSON.stringify({ latest: 'ckpt-1', all: ['ckpt-1'] }));
    const trainer = new FakeTrainer();
    trainer.load = async () => {
      throw new Error('shape mismatch');
    };
    expect((await rejection(restoreCheckpoint(dir, trainer))).message).toBe('shape mismatch');
  });
});

describe('the index and atomic writes', () => {
  it('round-trips an index and leaves no temp file', async () => {
    const dir = await folder({});
    await writeCheckpointIndex(dir, { latest: 'ckpt-2', all: ['ckpt-1', 'ckpt-2'] });
    await writeCheckpointIndex(dir, { latest: 'ckpt-3', all: ['ckpt-2', 'ckpt-3'] });
    expect(await readCheckpointIndex(dir, 'test')).toEqual({ latest: 'ckpt-3', all: ['ckpt-2', 'ckpt-3'] });
    expect(await readdir(dir)).toEqual(['checkpoint.json']);
  });
});
