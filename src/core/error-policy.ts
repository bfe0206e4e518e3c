import { InputError, InvalidArgumentError, invalidArgument, TooManyErrorsError } from './errors.js';
import type { StageCounters } from './stats.js';
import { oneOfOption } from './validate.js';

/**
 * What a stage does with a bad element (a truncated record, an undecodable image, a function that
 * throws): `raise` (default) ends the stream with the typed error; `skip` drops the element and
 * counts it by reason in the stage's stats (`skippedByReason`, `Stream.report()`); `warn` skips and
 * also emits a warning line. Under skip/warn, more than `maxErrors` skips raise TooManyErrorsError:
 * a pipeline whose input is mostly bad should stop, not silently train on what is left.
 */
export type OnError = 'raise' | 'skip' | 'warn';

export interface ErrorPolicyOptions {
  /** Default `'raise'`. */
  onError?: OnError;
  /** Most elements skipped before even skip/warn raise (default: unbounded). */
  maxErrors?: number;
  /**
   * Where `warn` lines go (default: `process.emitWarning`, which prints on a later tick: a warning
   * never blocks or slows the pipeline).
   */
  warn?: (message: string) => void;
}

export interface ErrorPolicy {
  onError: OnError;
  maxErrors: number;
  warn: (message: string) => void;
}

const defaultWarn = (message: string): void => process.emitWarning(message, { code: 'INQUEUE_SKIPPED' });

/** Validates the policy options of `stage` (they sit among the stage's other options). */
export function errorPolicyOption(stage: string, options: ErrorPolicyOptions | undefined): ErrorPolicy {
  const o = options ?? {};
  const onError = oneOfOption(stage, 'onError', o.onError, ['raise', 'skip', 'warn'] as const, 'raise');
  const maxErrors = o.maxErrors ?? Number.POSITIVE_INFINITY;
  if (!(maxErrors === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxErrors) && maxErrors >= 0))) {
    throw invalidArgument('maxErrors', 'a non-negative integer or Infinity', o.maxErrors, stage);
  }
  if (o.warn !== undefined && typeof o.warn !== 'function')
    throw invalidArgument('warn', 'a function', o.warn, stage);
  return { onError, maxErrors, warn: o.warn ?? defaultWarn };
}

/**
 * Applies `policy` to `error`, raised while producing the element `key`: throws it under `raise`
 * (and, always, errors that are not about the input: a bug, or an InvalidArgumentError — a bad
 * option is never skipped); otherwise records the skip in
 * `counters` (by the error's class name) and returns, or throws TooManyErrorsError past maxErrors.
 */
export function handleElementError(
  policy: ErrorPolicy,
  counters: StageCounters,
  error: unknown,
  key: string | undefined,
  stage: string,
): void {
  // A bad option is a mistake in the program, not in the data: skipping it would drop everything.
  if (policy.onError === 'raise' || !(error instanceof InputError) || error instanceof InvalidArgumentError)
    throw error;
  const reason = error.name;
  counters.recordSkip(reason, key);
  if (counters.skipped > policy.maxErrors) {
    throw new TooManyErrorsError(
      `${stage}: Expected at most maxErrors = ${policy.maxErrors} skipped elements but ${counters.skipped} failed; the last: ${error.message}`,
      { stage, key, parameter: 'maxErrors', cause: error },
    );
  }
  if (policy.onError === 'warn')
    warnSafely(policy, `${stage}: skipped ${key ?? 'an element'}: ${error.message}`);
}

/** A user's warn function that throws (or rejects) must not tear the stream down or go unhandled. */
function warnSafely(policy: ErrorPolicy, message: string): void {
  try {
    const r = policy.warn(message) as unknown;
    if (r instanceof Promise) r.catch(() => undefined);
  } catch {
    // The skip is counted whatever the warning's fate.
  }
}
