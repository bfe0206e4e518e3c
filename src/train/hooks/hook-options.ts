import { invalidArgument } from '../../core/errors.js';

/** Option validators the hooks share beyond core/validate.ts. */

/** A folder path option: a non-empty string. */
export function directoryOption(stage: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidArgument(name, 'a folder path (a non-empty string)', value, stage);
  }
  return value;
}

/** An optional positive finite number (seconds, rates). */
export function optionalPositiveNumber(stage: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(name, 'a positive finite number', value, stage);
  }
  return value;
}
