// Child of checkpoint-saver.test.ts: a run restarted from scratch re-saves ckpt-2 and is killed
// (SIGKILL, a crash) just before the new folder is renamed into place.
import { promises as fsp } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { Stream } from '../../../src/core/stream.js';
import { fit as runFit } from '../../../src/train/fit.js';
import { checkpointSaver } from '../../../src/train/hooks/checkpoint-saver.js';
import { stopAtStep } from '../../../src/train/hooks/stop-at-step.js';
import { FakeTrainer, fakeBatches } from '../fake-trainer.js';

const dir = process.argv[2];
const rename = fsp.rename;
fsp.rename = (async (from: string, to: string) => {
  if (String(from).includes('.tmp-ckpt-2-')) process.kill(process.pid, 'SIGKILL');
  return rename(from, to);
}) as typeof fsp.rename;
syncBuiltinESMExports();
await runFit(Stream.from(fakeBatches(10)), new FakeTrainer(), {
  hooks: [stopAtStep(2), checkpointSaver({ dir, everySteps: 2 })],
});
