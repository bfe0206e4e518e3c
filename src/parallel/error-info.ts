import {
  CancelledError,
  DecodeError,
  InputError,
  type InputErrorContext,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  TruncatedRecordError,
} from '../core/errors.js';

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
