import type { FitResult } from '../fit.js';
import type { Trainer } from '../trainer.js';

/**
 * The hook contract of `fit`, modelled on TensorFlow's `SessionRunHook` as `MonitoredTrainingSession`
 * drives it: `begin` before the first batch is pulled, `afterStep` after every step, `end` once
 * when the loop is over. Hooks are awaited in order; one that throws ends the run with its error.
 */
export interface Hook<B = unknown> {
  /** Before the first batch is pulled; `ctx.step` is the start step. May call `ctx.stop`. */
  begin?(ctx: FitContext<B>): void | Promise<void>;
  /** After each step, with that step's numbers; `ctx.step === info.step`. May call `ctx.stop`. */
  afterStep?(info: StepInfo, ctx: FitContext<B>): void | Promise<void>;
  /**
   * Once, after the loop ended and the batch iterator was closed, for every hook whose `begin`
   * completed (or that has none): with the result, or with the error the run fails with.
   */
  end?(ctx: FitContext<B>, outcome: FitOutcome): void | Promise<void>;
}

/** What hooks see of the running loop. */
export interface FitContext<B = unknown> {
  readonly trainer: Trainer<B>;
  /** The current global step: the start step plus the steps run so far. */
  readonly step: number;
  /** The global step the run started from (`fit`'s `initialStep`). */
  readonly initialStep: number;
  /** Asks the loop to stop after the current hook round; the first reason given is kept. */
  stop(reason: string): void;
  /** The run's abort signal (one that never aborts when `fit` was given none). */
  readonly signal: AbortSignal;
  /** `batches.position()` when the batches implement `PositionedSource`, else undefined. */
  inputPosition(): unknown;
}

/** One step's numbers. */
export interface StepInfo {
  /** Global step after this step (the first step of a run from 0 is step 1, as in TF). */
  step: number;
  loss: number;
  /** The step result's other numbers. */
  metrics: Record<string, number>;
  /** Examples in the batch. */
  examples: number;
  /** Seconds from asking the input for the batch to getting it. */
  waitSeconds: number;
  /** Seconds `trainer.step` took. */
  stepSeconds: number;
  /** `trainer.learningRate()` read just before the step (the rate the step used), when available. */
  learningRate?: number;
}

/** How the run ended, as `end` hooks see it. */
export type FitOutcome = { ok: true; result: FitResult } | { ok: false; error: unknown };
