import { invalidArgument } from '../../core/errors.js';
import { optionalIntegerOption } from '../../core/validate.js';
import type { Hook } from './types.js';

export type StopAtStepOptions =
  | { lastStep: number; numSteps?: undefined }
  | { numSteps: number; lastStep?: undefined };

/**
 * TF's `StopAtStepHook`: stops the run once the global step reaches `lastStep`, or `numSteps` after
 * the step the run started from. A run that starts at or past the last step runs no step at all.
 */
export function stopAtStep(last: number | StopAtStepOptions): Hook {
  const stage = 'stopAtStep';
  const opts = typeof last === 'number' ? { lastStep: last } : last;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw invalidArgument('lastStep', 'a step number or { lastStep } or { numSteps }', last, stage);
  }
  const lastStep = optionalIntegerOption(stage, 'lastStep', opts.lastStep, { min: 0 });
  const numSteps = optionalIntegerOption(stage, 'numSteps', opts.numSteps, { min: 0 });
  if ((lastStep === undefined) === (numSteps === undefined)) {
    throw invalidArgument('options', 'exactly one of lastStep and numSteps', last, stage);
  }
  let stopAt = 0;
  const reason = () => `reached step ${stopAt}`;
  return {
    begin(ctx) {
      stopAt = numSteps === undefined ? lastStep! : ctx.step + numSteps;
      if (ctx.step >= stopAt) ctx.stop(reason());
    },
    afterStep(info, ctx) {
      if (info.step >= stopAt) ctx.stop(reason());
    },
  };
}
