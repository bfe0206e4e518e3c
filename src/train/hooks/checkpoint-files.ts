import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DecodeError, invalidArgument, NotFoundError } from '../../core/errors.js';
import type { Trainer } from '../trainer.js';
import { directoryOption } from './hook-options.js';
import { writeFileAtomic } from './write-file-atomic.js';

/**
 * The checkpoint folder layout, TF's `checkpoint` index file in JSON:
 *
 *     <dir>/checkpoint.json      { "latest": "ckpt-300", "all": ["ckpt-100", "ckpt-200", "ckpt-300"] }
 *     <dir>/ckpt-300/            what trainer.save wrote, plus
 *     <dir>/ckpt-300/state.json  { "step": 300, "savedAt": "<ISO time>", "inputPosition": ... }
 *
 * `all` is in save order, oldest first. Both JSON files are written whole and renamed into place,
 * so a crash leaves the previous index, never a half-written one.
 */

export const CHECKPOINT_INDEX_FILE = 'checkpoint.json';
export const CHECKPOINT_STATE_FILE = 'state.json';
/** Prefix of the folders a save is assembled in before it is renamed to `ckpt-<step>`. */
export const CHECKPOINT_TEMP_PREFIX = '.tmp-ckpt-';

const NAME = /^ckpt-(0|[1-9]\d*)$/;

export interface CheckpointIndex {
  latest: string;
  all: string[];
}

export interface CheckpointState {
  step: number;
  savedAt: string;
  inputPosition?: unknown;
}

export interface LatestCheckpoint {
  /** The checkpoint folder, to pass to `trainer.load`. */
  path: string;
  step: number;
  /** The input position saved with it (undefined when the batches had none). */
  inputPosition: unknown;
  savedAt: string;
}

export function checkpointName(step: number): string {
  return `ckpt-${step}`;
}

/** `dir`'s checkpoint index, or undefined when it has none. */
export async function readCheckpointIndex(dir: string, stage: string): Promise<CheckpointIndex | undefined> {
  const file = join(dir, CHECKPOINT_INDEX_FILE);
  const value = await readJson(file, stage, true);
  if (value === undefined) return undefined;
  const index = value as Partial<CheckpointIndex>;
  const valid =
    typeof index === 'object' &&
    index !== null &&
    Array.isArray(index.all) &&
    index.all.every((n) => typeof n === 'string' && NAME.test(n)) &&
    typeof index.latest === 'string' &&
    index.all.includes(index.latest);
  if (!valid) {
    throw corrupt(file, stage, 'expected { "latest": "ckpt-<step>", "all": [...] } with latest in all');
  }
  return { latest: index.latest!, all: [...index.all!] };
}

/** Replaces `dir`'s checkpoint index atomically. */
export function writeCheckpointIndex(dir: string, index: CheckpointIndex): Promise<void> {
  return writeFileAtomic(join(dir, CHECKPOINT_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
}

/** The state file of the checkpoint folder `path`. */
export async function readCheckpointState(path: string, stage: string): Promise<CheckpointState> {
  const file = join(path, CHECKPOINT_STATE_FILE);
  const state = (await readJson(file, stage, false)) as Partial<CheckpointState>;
  const valid =
    typeof state === 'object' &&
    state !== null &&
    typeof state.step === 'number' &&
    Number.isInteger(state.step) &&
    state.step >= 0 &&
    typeof state.savedAt === 'string';
  if (!valid) throw corrupt(file, stage, 'expected { "step": <integer >= 0>, "savedAt": "<time>", ... }');
  return state as CheckpointState;
}

/** The newest checkpoint in `dir` (by its index), or undefined when there is none yet. */
export async function latestCheckpoint(dir: string): Promise<LatestCheckpoint | undefined> {
  const stage = 'latestCheckpoint';
  directoryOption(stage, 'dir', dir);
  const index = await readCheckpointIndex(dir, stage);
  if (!index) return undefined;
  const path = join(dir, index.latest);
  const state = await readCheckpointState(path, stage);
  return { path, step: state.step, inputPosition: state.inputPosition, savedAt: state.savedAt };
}

/**
 * Loads the newest checkpoint in `dir` into `trainer` and returns the step to pass to `fit` as
 * `initialStep` and the input position to rebuild the batches from; undefined (and nothing loaded)
 * when `dir` has no checkpoint yet, so a first run and a resumed one share one code path.
 */
export async function restoreCheckpoint<B>(
  dir: string,
  trainer: Trainer<B>,
): Promise<{ step: number; inputPosition: unknown } | undefined> {
  const stage = 'restoreCheckpoint';
  directoryOption(stage, 'dir', dir);
  if (typeof trainer !== 'object' || trainer === null || typeof trainer.load !== 'function') {
    throw invalidArgument('trainer', 'a Trainer with a load(dir) method', trainer, stage);
  }
  const latest = await latestCheckpoint(dir);
  if (!latest) return undefined;
  await trainer.load(latest.path);
  return { step: latest.step, inputPosition: latest.inputPosition };
}

async function readJson(file: string, stage: string, missingOk: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (missingOk) return undefined;
      throw new NotFoundError(`${stage}: ${file} does not exist`, { file, stage, cause: err });
    }
    throw new NotFoundError(`${stage}: cannot read ${file}: ${(err as Error).message}`, {
      file,
      stage,
      cause: err,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw corrupt(file, stage, (err as Error).message, err);
  }
}

function corrupt(file: string, stage: string, detail: string, cause?: unknown): DecodeError {
  return new DecodeError(`${stage}: ${file} is not a valid checkpoint file: ${detail}`, {
    file,
    stage,
    cause,
  });
}
