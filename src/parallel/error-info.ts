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

/** The per-example function threw on an element; `key` is the element's, `cause` what it threw. */
export class MapError extends InputError {}

/**
 * The worker running an element died twice on it (process.exit, a crash, ERR_WORKER_OUT_OF_MEMORY):
 * the first death replaces the worker and retries the element alone, the second reports it.
 */
export class WorkerDiedError extends MapError {}

/** An element ran longer than mapParallel's `timeoutMs`; its worker was terminated and replaced. */
export class MapTimeoutError extends MapError {}

/** An error as it crosses a thread boundary: its class name, message, stack and InputError context. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  /**
   * Constructor names from the error's own class up to Error: a class unknown on the receiving side
   * (a user's DecodeError subclass) is revived as the nearest class it knows.
   */
  classes?: string[];
  /** Node's error code (ERR_MODULE_NOT_FOUND...), when it has one. */
  code?: string;
  context?: Omit<InputErrorContext, 'cause'>;
  cause?: ErrorInfo;
}

type InputErrorClass = new (message: string, context?: InputErrorContext) => InputError;
type ErrorClass = new (message: string, options?: { cause?: unknown }) => Error;

const INPUT_ERRORS: Record<string, InputErrorClass> = {
  InputError,
  InvalidArgumentError,
  NotFoundError,
  TruncatedRecordError,
  DecodeError,
  ArchiveError,
  TooManyErrorsError,
  OutOfRangeError,
  CancelledError,
  MapError,
  WorkerDiedError,
  MapTimeoutError,
};

const BUILTIN_ERRORS: Record<string, ErrorClass> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** How many nested causes cross with an error (a chain is short; a cycle must not loop). */
const MAX_CAUSES = 4;

/** The error as data that any postMessage can carry. Never throws: it runs in catch blocks. */
export function errorInfo(err: unknown, depth = 0): ErrorInfo {
  try {
    const e = err instanceof Error ? err : new Error(safeString(err));
    const info: ErrorInfo = {
      name: safeString(e.name),
      message: safeString(e.message),
      classes: classNames(e),
    };
    if (typeof e.stack === 'string') info.stack = e.stack;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') info.code = code;
    if (e instanceof InputError) {
      info.context = { file: e.file, offset: e.offset, key: e.key, parameter: e.parameter, stage: e.stage };
    }
    if (e.cause !== undefined && depth < MAX_CAUSES) info.cause = errorInfo(e.cause, depth + 1);
    return info;
  } catch {
    // Hostile getters, a Proxy...: still an error for the element, not a crash of the worker.
    return { name: 'Error', message: 'an error that cannot be described' };
  }
}

function safeString(x: unknown): string {
  try {
    return String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}

function classNames(e: Error): string[] {
  const names: string[] = [];
  for (let p = Object.getPrototypeOf(e); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/**
 * The same error on this side, as the nearest class known here: an InputError subclass that only
 * the sender knows (a user's `class CorruptLabelError extends DecodeError`) comes back as a
 * DecodeError that keeps its name, context (file, offset, key, parameter, stage) and so its skip
 * reason; other errors as their built-in class. Name, code, stack and causes are kept.
 */
export function reviveError(info: ErrorInfo): Error {
  // Without the class chain (an older sender) only the name can be looked up; with it, a
  // DOMException that happens to be named NotFoundError is not taken for ours.
  const classes = info.classes ?? [info.name];
  const cause = info.cause ? reviveError(info.cause) : undefined;
  let err: Error | undefined;
  for (const c of classes) {
    if (Object.hasOwn(INPUT_ERRORS, c)) err = new INPUT_ERRORS[c](info.message, { ...info.context, cause });
    else if (Object.hasOwn(BUILTIN_ERRORS, c))
      err = new BUILTIN_ERRORS[c](info.message, cause === undefined ? undefined : { cause });
    if (err) break;
  }
  err ??= new Error(info.message, cause === undefined ? undefined : { cause });
  if (err.name !== info.name) err.name = info.name;
  if (info.code !== undefined) Object.assign(err, { code: info.code });
  if (info.stack) err.stack = info.stack;
  return err;
}

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
