import type { StepInfo } from './types.js';

/** Numbers over a run of consecutive steps, as the logger prints them and the summary writes them. */
export interface WindowStats {
  /** Global step of the window's last step. */
  step: number;
  /** Steps in the window. */
  steps: number;
  examples: number;
  /** Mean loss over the window's steps (NaN if any was NaN). */
  loss: number;
  /** Wall-clock seconds since the window opened, time spent in hooks included. */
  seconds: number;
  /** examples / seconds. */
  examplesPerSecond: number;
  /** seconds / steps. */
  secondsPerBatch: number;
  /** Total time spent waiting for input. */
  waitSeconds: number;
  /** Total time spent in `trainer.step`. */
  stepSeconds: number;
  /**
   * waitSeconds / (waitSeconds + stepSeconds): the share of the time a step cycle spends waiting for
   * its batch ("input-bound x%"); 0 when nothing was timed.
   */
  inputBoundFraction: number;
}

/** Accumulates per-step timings from the moment it is opened. */
export class StepWindow {
  private opened = 0;
  private steps = 0;
  private lastStep = 0;
  private examples = 0;
  private lossSum = 0;
  private waitSeconds = 0;
  private stepSeconds = 0;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.open();
  }

  /** Starts an empty window now. */
  open(): void {
    this.opened = this.now();
    this.steps = 0;
    this.examples = 0;
    this.lossSum = 0;
    this.waitSeconds = 0;
    this.stepSeconds = 0;
  }

  add(info: StepInfo): void {
    this.steps++;
    this.lastStep = info.step;
    this.examples += info.examples;
    this.lossSum += info.loss;
    this.waitSeconds += info.waitSeconds;
    this.stepSeconds += info.stepSeconds;
  }

  get size(): number {
    return this.steps;
  }

  /** The window's numbers so far, or undefined when it holds no step. */
  stats(): WindowStats | undefined {
    if (this.steps === 0) return undefined;
    const seconds = (this.now() - this.opened) / 1000;
    const timed = this.waitSeconds + this.stepSeconds;
    return {
      step: this.lastStep,
      steps: this.steps,
      examples: this.examples,
      loss: this.lossSum / this.steps,
      seconds,
      examplesPerSecond: seconds > 0 ? this.examples / seconds : 0,
      secondsPerBatch: seconds / this.steps,
      waitSeconds: this.waitSeconds,
      stepSeconds: this.stepSeconds,
      inputBoundFraction: timed > 0 ? this.waitSeconds / timed : 0,
    };
  }

  /** The window's numbers, then a fresh window. */
  take(): WindowStats | undefined {
    const stats = this.stats();
    this.open();
    return stats;
  }
}
