import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, invalidArgument } from '../../core/errors.js';
import { booleanOption, integerOption, objectOption, optionalIntegerOption } from '../../core/validate.js';
import type { Trainer } from '../trainer.js';
import {
  CHECKPOINT_INDEX_FILE,
  CHECKPOINT_STATE_FILE,
  CHECKPOINT_TEMP_PREFIX,
  type CheckpointIndex,
  type CheckpointState,
  checkpointName,
  readCheckpointIndex,
  writeCheckpointIndex,
} from './checkpoint-files.js';
import { directoryOption, optionalPositiveNumber } from './hook-options.js';
import type { FitContext, Hook } from './types.js';

const STAGE = 'checkpointSaver';

export interface CheckpointSaverOptions {
  /** Folder of the checkpoints and their index (created when missing). */
  dir: string;
  /** Save at every global step that is a multiple of this (so resumed runs save at the same steps). */
  everySteps?: number;
  /** Save after the first step at least this many seconds after the previous save (or the start). */
  everySeconds?: number;
  /** Checkpoints kept, newest first (default 5, TF's max_to_keep). */
  keep?: number;
  /** Save when the run ends without an error, unless that step was just saved (default true). */
  saveAtEnd?: boolean;
}

export interface SavedCheckpoint {
  path: string;
  step: number;
}

export interface CheckpointSaverHook extends Hook {
  /** The latest checkpoint this hook saved, if any. */
  readonly lastSaved: SavedCheckpoint | undefined;
}

/**
 * TF's `CheckpointSaverHook`, with the input position saved alongside the weights: every
 * `everySteps` steps or `everySeconds` seconds (exactly one), and at the end, `trainer.save` writes
 * into a fresh temp folder, `state.json` records `{ step, savedAt, inputPosition }`, and the folder
 * is renamed to `<dir>/ckpt-<step>`; only then does `checkpoint.json` name it, and the checkpoints
 * beyond the newest `keep` are deleted. A crash at any point leaves the index pointing at a whole
 * checkpoint. Restore with `restoreCheckpoint` (checkpoint-files.ts).
 *
 * A run that fails (a trainer error, `nanLoss`) is not saved at the end: its weights are suspect.
 * The trainer must have `save`; that is checked when the run begins, before any batch is pulled.
 */
export function checkpointSaver(options: CheckpointSaverOptions): CheckpointSaverHook {
  const opts = objectOption(STAGE, 'options', options);
  const dir = directoryOption(STAGE, 'dir', opts.dir);
  const everySteps = optionalIntegerOption(STAGE, 'everySteps', opts.everySteps, { min: 1 });
  const everySeconds = optionalPositiveNumber(STAGE, 'everySeconds', opts.everySeconds);
  if ((everySteps === undefined) === (everySeconds === undefined)) {
    throw invalidArgument(
      'everySteps',
      'exactly one of everySteps and everySeconds',
      { everySteps: opts.everySteps, everySeconds: opts.everySeconds },
      STAGE,
    );
  }
  const keep = integerOption(STAGE, 'keep', opts.keep, { min: 1, defaultValue: 5 });
  const saveAtEnd = booleanOption(STAGE, 'saveAtEnd', opts.saveAtEnd, true);

  let index: CheckpointIndex | undefined;
  let lastSaveTime = 0;
  let lastSaved: SavedCheckpoint | undefined;
  let lossFinite = true;

  const save = async (ctx: FitContext<unknown>): Promise<void> => {
    const step = ctx.step;
    const name = checkpointName(step);
    const temp = join(dir, `${CHECKPOINT_TEMP_PREFIX}${step}-${randomUUID().slice(0, 8)}`);
    const final = join(dir, name);
    const replaced = join(dir, `${CHECKPOINT_TEMP_PREFIX}old-${step}-${randomUUID().slice(0, 8)}`);
    let hadOld = false;
    await mkdir(temp);
    try {
      await (ctx.trainer as Required<Trainer<unknown>>).save(temp);
      const state: CheckpointState = {
        step,
        savedAt: new Date().toISOString(),
        inputPosition: ctx.inputPosition(),
      };
      await writeFile(join(temp, CHECKPOINT_STATE_FILE), `${stateJson(state)}\n`);
      // A checkpoint of the same step from an earlier run (one restarted from scratch) is replaced.
      // The index stops naming it first, so a crash between the two renames below leaves the index
      // on a whole (older) checkpoint, never on a missing folder.
      hadOld = await exists(final);
      if (hadOld) {
        const others = (index?.all ?? []).filter((n) => n !== name);
        index = others.length > 0 ? { latest: others[others.length - 1], all: others } : undefined;
        if (index) await writeCheckpointIndex(dir, index);
        else await rm(join(dir, CHECKPOINT_INDEX_FILE), { force: true });
        await rename(final, replaced);
      }
      await rename(temp, final);
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      if (hadOld && !(await exists(final))) await rename(replaced, final).catch(() => undefined);
      throw err;
    }
    const all = [...(index?.all ?? []).filter((n) => n !== name), name];
    const dropped = all.splice(0, Math.max(0, all.length - keep));
    index = { latest: name, all };
    await writeCheckpointIndex(dir, index);
    for (const old of dropped) await rm(join(dir, old), { recursive: true, force: true });
    if (hadOld) await rm(replaced, { recursive: true, force: true });
    lastSaveTime = performance.now();
    lastSaved = { path: final, step };
  };

  return {
    get lastSaved() {
      return lastSaved;
    },
    async begin(ctx) {
      const trainer = ctx.trainer;
      if (typeof trainer.save !== 'function') {
        throw invalidArgument('trainer', 'a Trainer with a save(dir) method', trainer, STAGE);
      }
      await mkdir(dir, { recursive: true });
      index = await readCheckpointIndex(dir, STAGE);
      // Folders of saves that a crash interrupted.
      for (const entry of await readdir(dir)) {
        if (entry.startsWith(CHECKPOINT_TEMP_PREFIX))
          await rm(join(dir, entry), { recursive: true, force: true });
      }
      lastSaveTime = performance.now();
      lastSaved = undefined;
      lossFinite = true;
    },
    async afterStep(info, ctx) {
      // Weights after a NaN or infinite loss are not worth keeping (nanLoss({ fail: false }) only
      // stops the run): neither this step nor the end saves them.
      lossFinite = Number.isFinite(info.loss);
      if (!lossFinite) return;
      const due =
        everySteps !== undefined
          ? info.step % everySteps === 0
          : performance.now() - lastSaveTime >= everySeconds! * 1000;
      if (due) await save(ctx);
    },
    async end(ctx, outcome) {
      if (!saveAtEnd || !outcome.ok || outcome.result.stepsRun === 0 || !lossFinite) return;
      if (lastSaved?.step === ctx.step) return;
      await save(ctx);
    },
  };
}

function stateJson(state: CheckpointState): string {
  try {
    return JSON.stringify(state, null, 2);
  } catch (err) {
    throw new InputError(
      `${STAGE}: the input position is not JSON-serializable (${(err as Error).message})`,
      { stage: STAGE, parameter: 'inputPosition', cause: err },
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
