import {
  ArchiveError,
  CancelledError,
  DecodeError,
  InputError,
  type InputErrorContext,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  TooManyErrorsError,
  TruncatedRecordError,
} from '../core/errors.js';

/**
 * The errors of the worker pools: how an error crosses a thread boundary (ErrorInfo), and the
 * mapParallel errors that name the element they concern.
 */

/** An error as it crosses a thread boundary: its class name, message, stack and InputError context. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  context?: Omit<InputErrorContext, 'cause'>;
}

const INPUT_ERRORS: Record<string, new (message: string, context?: InputErrorContext) => InputError> = {
  InputError,
  InvalidArgumentError,
  NotFoundError,
  TruncatedRecordError,
  DecodeError,
  ArchiveError,
  TooManyErrorsError,
  OutOfRangeError,
  CancelledError,
};

export function errorInfo(err: unknown): ErrorInfo {
  const e = err instanceof Error ? err : new Error(String(err));
  const info: ErrorInfo = { name: e.name, message: e.message, stack: e.stack };
  if (e instanceof InputError) {
    info.context = { file: e.file, offset: e.offset, key: e.key, parameter: e.parameter, stage: e.stage };
  }
  return info;
}

/** The same error on this side: InputError classes with their context, other errors as Error. */
export function reviveError(info: ErrorInfo): Error {
  const Class = INPUT_ERRORS[info.name];
  const err = Class
    ? new Class(info.message, info.context)
    : Object.assign(new Error(info.message), { name: info.name });
  if (info.stack) err.stack = info.stack;
  return err;
}

/** The per-example function threw on an element; `key` is the element's, `cause` what it threw. */
export class MapError extends InputError {}

/**
 * The worker running an element died twice on it (process.exit, a crash, ERR_WORKER_OUT_OF_MEMORY):
 * the first death replaces the worker and retries the element alone, the second reports it.
 */
export class WorkerDiedError extends MapError {}

/** An element ran longer than mapParallel's `timeoutMs`; its worker was terminated and replaced. */
export class MapTimeoutError extends MapError {}

/** The element's `key` field when it is a string, else `#<index in the stream>`. */
export function elementKey(value: unknown, index: number): string {
  const key = (value as { key?: unknown } | null)?.key;
  return typeof key === 'string' ? key : `#${index}`;
}

/** The MapError for `thrown` (from this thread or revived from a worker's ErrorInfo). */
export function mapError(stage: string, key: string, thrown: unknown): MapError {
  const e = thrown instanceof Error ? thrown : new Error(String(thrown));
  const err = new MapError(
    `${stage}: the function failed on element ${JSON.stringify(key)}: ${e.name}: ${e.message}`,
    { key, stage, cause: e },
  );
  if (e.stack) err.stack = `${err.name}: ${err.message}\n  caused by ${e.stack}`;
  return err;
}

/** Why a worker stopped, for messages: the error's code and message, or the exit code. */
export function describeDeath(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
}
