import { invalidArgument } from '../../core/errors.js';
import { integerOption, objectOption } from '../../core/validate.js';
import { StepWindow, type WindowStats } from './step-window.js';
import type { Hook } from './types.js';

export interface LoggerOptions {
  /** Steps per line (default 10). */
  every?: number;
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
}

export interface LoggerHook extends Hook {
  /** The numbers of the latest line, or undefined before the first. */
  readonly last: WindowStats | undefined;
  /** The numbers over the whole run so far (frozen when it ends), or undefined before its first step. */
  readonly total: WindowStats | undefined;
}

/**
 * The CIFAR-10 tutorial's `_LoggerHook` with the input share added: every `every` steps, one line
 * with the step, the mean loss over those steps, examples/s and s/batch (wall clock, hooks included)
 * and how much of the step cycle was spent waiting for input. A last, shorter window is logged at the
 * end of the run.
 *
 *     step 120: loss = 2.301 (1234.5 examples/s; 0.104 s/batch; input-bound 3.2%)
 */
export function logger(options: LoggerOptions = {}): LoggerHook {
  const stage = 'logger';
  const opts = objectOption(stage, 'options', options);
  const every = integerOption(stage, 'every', opts.every, { min: 1, defaultValue: 10 });
  const log = opts.log ?? console.log;
  if (typeof log !== 'function') throw invalidArgument('log', 'a function (line) => void', log, stage);
  let window = new StepWindow();
  let run = new StepWindow();
  let last: WindowStats | undefined;
  let finalTotal: WindowStats | undefined;
  const emit = () => {
    last = window.take();
    if (last) (log as (line: string) => void)(formatWindow(last));
  };
  return {
    get last() {
      return last;
    },
    get total() {
      return finalTotal ?? run.stats();
    },
    begin() {
      window = new StepWindow();
      run = new StepWindow();
      last = undefined;
      finalTotal = undefined;
    },
    afterStep(info) {
      window.add(info);
      run.add(info);
      if (window.size >= every) emit();
    },
    end() {
      if (window.size > 0) emit();
      finalTotal = run.stats();
    },
  };
}

/** One log line for a window. */
export function formatWindow(w: WindowStats): string {
  return (
    `step ${w.step}: loss = ${w.loss.toPrecision(4)} (${w.examplesPerSecond.toFixed(1)} examples/s; ` +
    `${w.secondsPerBatch.toFixed(3)} s/batch; input-bound ${(w.inputBoundFraction * 100).toFixed(1)}%)`
  );
}
