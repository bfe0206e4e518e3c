/**
 * Typed errors. Every error the library raises is an `InputError` (or a subclass) carrying what is
 * known about where it happened, so a failure deep in a pipeline still names the file, offset and
 * parameter. Queue-control errors mirror TensorFlow's names (`OutOfRangeError`, `CancelledError`).
 */

export interface InputErrorContext {
  /** File the error concerns, as the user named it. */
  file?: string;
  /** Byte offset in the (decompressed) file. */
  offset?: number;
  /** Record key (`<file>:<index>` for fixed-length records). */
  key?: string;
  /** The option or argument at fault. */
  parameter?: string;
  /** The pipeline stage that raised it (e.g. `fixedLengthRecordReader`). */
  stage?: string;
  cause?: unknown;
}

export class InputError extends Error {
  readonly file?: string;
  readonly offset?: number;
  readonly key?: string;
  readonly parameter?: string;
  readonly stage?: string;

  constructor(message: string, context: InputErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.file = context.file;
    this.offset = context.offset;
    this.key = context.key;
    this.parameter = context.parameter;
    this.stage = context.stage;
  }
}

/** A bad option or argument: `Expected <what> for <name> but received <value>`. */
export class InvalidArgumentError extends InputError {}

/** A file that does not exist, is a directory, or cannot be read. */
export class NotFoundError extends InputError {}

/** A fixed-length file whose body does not end on a record boundary. */
export class TruncatedRecordError extends InputError {}

/** Input that cannot be decoded (bad length for a dtype, wrong shapes in a batch, ...). */
export class DecodeError extends InputError {}

/** An archive (tar, gzip) that is corrupt, truncated or hostile (an entry escaping its folder). */
export class ArchiveError extends InputError {}

/** More per-element errors than a stage's `maxErrors` allows under the skip/warn policy. */
export class TooManyErrorsError extends InputError {}

/** TF's `OutOfRangeError`: a closed queue has fewer elements than a dequeue asked for. */
export class OutOfRangeError extends InputError {}

/** TF's `CancelledError`: an enqueue on a closed queue, or a pending operation cancelled by close. */
export class CancelledError extends InputError {}

/** Renders a received value for an error message: short, unambiguous, never throwing. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value))
    return value.length > 8 ? `an array of ${value.length} items` : JSON.stringify(value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as Uint8Array).length})`;
  if (typeof value === 'function') return 'a function';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The one error template for bad options, in the style of sharp's `invalidParameterError`. */
export function invalidArgument(
  name: string,
  expected: string,
  received: unknown,
  stage?: string,
): InvalidArgumentError {
  const where = stage ? `${stage}: ` : '';
  return new InvalidArgumentError(
    `${where}Expected ${expected} for ${name} but received ${describeValue(received)}`,
    {
      parameter: name,
      stage,
    },
  );
}
