import { InputError } from '../../core/errors.js';
import { booleanOption, objectOption } from '../../core/validate.js';
import type { Hook } from './types.js';

/** A step's loss was NaN or infinite (TF's `NanLossDuringTrainingError`). */
export class NanLossError extends InputError {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`nanLoss: loss is ${loss} at step ${step}`, { stage: 'nanLoss' });
  }
}

export interface NanLossOptions {
  /** Throw a `NanLossError` (default), or, when false, stop the run with a reason. */
  fail?: boolean;
}

/** TF's `NanTensorHook`: ends the run at the first step whose loss is NaN or ±Infinity. */
export function nanLoss(options: NanLossOptions = {}): Hook {
  const opts = objectOption('nanLoss', 'options', options);
  const fail = booleanOption('nanLoss', 'fail', opts.fail, true);
  return {
    afterStep(info, ctx) {
      if (Number.isFinite(info.loss)) return;
      if (fail) throw new NanLossError(info.step, info.loss);
      ctx.stop(`loss is ${info.loss} at step ${info.step}`);
    },
  };
}
