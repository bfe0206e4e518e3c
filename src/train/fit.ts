import { invalidArgument } from '../core/errors.js';
import type { Stream } from '../core/stream.js';
import { integerOption, objectOption } from '../core/validate.js';
import type { FitContext, FitOutcome, Hook, StepInfo } from './hooks/types.js';
import { hasPosition, type StepResult, type Trainer } from './trainer.js';

/**
 * The training loop: pulls one batch, trains on it, runs the hooks, and only then asks for the next
 * batch, so a slow trainer slows the input pipeline instead of filling memory. Stops at the end of
 * the batches, when a hook calls `ctx.stop`, or when the signal aborts (between steps, or while
 * waiting for a batch). However it ends, the batch iterator is returned (closing the pipeline's
 * files and workers) before `end` hooks run and before `fit` settles. Queue stages (batchers,
 * prefetch) close at once; a stream built on an async generator (`Stream.from(generator)`, a plain
 * generator) can only return once the pull in progress ends (the language's rule), so an abort while
 * one waits for its batch ends the run when that pull ends, without training on it.
 */

const STAGE = 'fit';

export interface FitOptions<B> {
  /** Run in order after each step (see hooks/types.ts). */
  hooks?: readonly Hook<B>[];
  /** Aborting stops the run between steps or while waiting for a batch; `fit` then resolves. */
  signal?: AbortSignal;
  /** Global step the run starts from (a restored checkpoint's step); default 0. */
  initialStep?: number;
  /** Examples in a batch (default: `key.length`, else `label.shape[0]`, else 1). */
  batchSize?: (batch: B) => number;
}

export interface FitResult {
  /** Global step at the end: `initialStep + stepsRun`. */
  steps: number;
  /** Steps run by this call. */
  stepsRun: number;
  stoppedBy: 'end' | 'hook' | 'signal';
  /** The hook's reason, or the abort reason. */
  reason?: string;
  /** Loss of the last step run. */
  lastLoss?: number;
  /** Wall-clock seconds of the whole call, hooks included. */
  seconds: number;
}

const ABORTED = Symbol('aborted');

export async function fit<B>(
  batches: AsyncIterable<B> | Stream<B>,
  trainer: Trainer<B>,
  options: FitOptions<B> = {},
): Promise<FitResult> {
  const started = performance.now();
  const settings = fitOptions(batches, trainer, options);
  const { hooks, signal, initialStep, batchSize } = settings;

  let step = initialStep;
  let stopReason: string | undefined;
  const ctx: FitContext<B> = {
    trainer,
    get step() {
      return step;
    },
    initialStep,
    stop(reason: string) {
      stopReason ??= String(reason);
    },
    signal,
    inputPosition: () => (hasPosition(batches) ? batches.position() : undefined),
  };

  let iterator: AsyncIterator<B> | undefined;
  let exhausted = false;
  let lastLoss: number | undefined;
  let stoppedBy: FitResult['stoppedBy'] = 'end';
  let failure: { error: unknown } | undefined;
  const begun: Hook<B>[] = [];
  try {
    for (const hook of hooks) {
      await hook.begin?.(ctx);
      begun.push(hook);
    }
    for (;;) {
      if (stopReason !== undefined) {
        stoppedBy = 'hook';
        break;
      }
      if (signal.aborted) {
        stoppedBy = 'signal';
        break;
      }
      const asked = performance.now();
      iterator ??= batches[Symbol.asyncIterator]();
      const next = await nextOrAbort(iterator, signal, () => {
        exhausted = true; // next() threw: as in for-await, the iterator is not returned.
      });
      if (next === ABORTED) {
        stoppedBy = 'signal';
        break;
      }
      if (next.done) {
        exhausted = true;
        break;
      }
      const batch = next.value;
      const received = performance.now();
      const examples = examplesIn(batch, batchSize); // before the step, which may consume the batch
      const learningRate = trainer.learningRate?.();
      const result = checkStepResult(await trainer.step(batch));
      const trained = performance.now();
      step++;
      lastLoss = result.loss;
      const info: StepInfo = {
        step,
        loss: result.loss,
        metrics: metricsOf(result),
        examples,
        waitSeconds: (received - asked) / 1000,
        stepSeconds: (trained - received) / 1000,
      };
      if (learningRate !== undefined) info.learningRate = learningRate;
      for (const hook of hooks) await hook.afterStep?.(info, ctx);
    }
  } catch (error) {
    failure = { error };
  }

  if (iterator && !exhausted && iterator.return) {
    try {
      await iterator.return();
    } catch (error) {
      failure ??= { error };
    }
  }

  const result: FitResult = {
    steps: step,
    stepsRun: step - initialStep,
    stoppedBy,
    seconds: (performance.now() - started) / 1000,
  };
  if (stoppedBy === 'hook') result.reason = stopReason;
  if (stoppedBy === 'signal') result.reason = abortReason(signal);
  if (lastLoss !== undefined) result.lastLoss = lastLoss;
  const outcome: FitOutcome = failure ? { ok: false, error: failure.error } : { ok: true, result };
  for (const hook of begun) {
    try {
      await hook.end?.(ctx, outcome);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
  result.seconds = (performance.now() - started) / 1000; // now with the end hooks' time
  return result;
}

/**
 * The iterator's next result, or ABORTED as soon as the signal aborts while it is pending (the
 * pending pull is left to settle on its own; the caller then returns the iterator).
 */
function nextOrAbort<B>(
  iterator: AsyncIterator<B>,
  signal: AbortSignal,
  onThrow: () => void,
): Promise<IteratorResult<B> | typeof ABORTED> {
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<IteratorResult<B>>;
    try {
      pending = Promise.resolve(iterator.next());
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        onThrow();
        reject(error);
      },
    );
  });
}

interface FitSettings<B> {
  hooks: readonly Hook<B>[];
  signal: AbortSignal;
  initialStep: number;
  batchSize?: (batch: B) => number;
}

function fitOptions<B>(batches: unknown, trainer: unknown, options: unknown): FitSettings<B> {
  if (
    typeof batches !== 'object' ||
    batches === null ||
    typeof (batches as Partial<AsyncIterable<B>>)[Symbol.asyncIterator] !== 'function'
  ) {
    throw invalidArgument('batches', 'a Stream or an AsyncIterable of batches', batches, STAGE);
  }
  if (
    typeof trainer !== 'object' ||
    trainer === null ||
    typeof (trainer as Partial<Trainer<B>>).step !== 'function'
  ) {
    throw invalidArgument('trainer', 'a Trainer (an object with a step(batch) method)', trainer, STAGE);
  }
  const opts = objectOption(STAGE, 'options', options);
  const hooks = opts.hooks ?? [];
  if (!Array.isArray(hooks)) throw invalidArgument('hooks', 'an array of hooks', hooks, STAGE);
  hooks.forEach((hook, i) => {
    checkHook(hook, i);
  });
  const signal = opts.signal ?? new AbortController().signal;
  if (!(signal instanceof AbortSignal)) throw invalidArgument('signal', 'an AbortSignal', signal, STAGE);
  const initialStep = integerOption(STAGE, 'initialStep', opts.initialStep, { min: 0, defaultValue: 0 });
  const batchSize = opts.batchSize;
  if (batchSize !== undefined && typeof batchSize !== 'function') {
    throw invalidArgument('batchSize', 'a function (batch) => number of examples', batchSize, STAGE);
  }
  return { hooks, signal, initialStep, batchSize: batchSize as FitSettings<B>['batchSize'] };
}

function checkHook(hook: unknown, index: number): void {
  const name = `hooks[${index}]`;
  if (typeof hook !== 'object' || hook === null) {
    throw invalidArgument(name, 'a hook (an object with begin, afterStep or end methods)', hook, STAGE);
  }
  for (const method of ['begin', 'afterStep', 'end'] as const) {
    const fn = (hook as Record<string, unknown>)[method];
    if (fn !== undefined && typeof fn !== 'function') {
      throw invalidArgument(`${name}.${method}`, 'a function', fn, STAGE);
    }
  }
}

function checkStepResult(result: unknown): StepResult {
  if (
    typeof result !== 'object' ||
    result === null ||
    typeof (result as Partial<StepResult>).loss !== 'number'
  ) {
    throw invalidArgument('trainer.step', 'a result { loss: number, ... }', result, STAGE);
  }
  return result as StepResult;
}

function metricsOf(result: StepResult): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(result)) {
    if (name !== 'loss' && typeof value === 'number') metrics[name] = value;
  }
  return metrics;
}

function examplesIn<B>(batch: B, batchSize: ((batch: B) => number) | undefined): number {
  if (batchSize) {
    const n = batchSize(batch);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw invalidArgument('batchSize', 'a function returning a non-negative integer', n, STAGE);
    }
    return n;
  }
  const fields = batch as { key?: unknown; label?: { shape?: unknown } } | null;
  if (typeof fields !== 'object' || fields === null) return 1;
  if (Array.isArray(fields.key)) return fields.key.length;
  const shape = fields.label?.shape;
  if (Array.isArray(shape) && typeof shape[0] === 'number') return shape[0];
  return 1;
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  if (reason === undefined) return 'aborted';
  return String(reason);
}
