import { invalidArgument } from './errors.js';

/**
 * Option validators. Each returns the value (with its default applied) or throws an
 * `InvalidArgumentError` naming the parameter; stages call them at construction so a bad option fails
 * before any file is opened.
 */

export function integerOption(
  stage: string,
  name: string,
  value: unknown,
  {
    min = Number.MIN_SAFE_INTEGER,
    max = Number.MAX_SAFE_INTEGER,
    defaultValue,
  }: { min?: number; max?: number; defaultValue?: number } = {},
): number {
  if (value === undefined && defaultValue !== undefined) return defaultValue;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(name, describeRange('an integer', min, max), value, stage);
  }
  return value;
}

export function optionalIntegerOption(
  stage: string,
  name: string,
  value: unknown,
  range: { min?: number; max?: number } = {},
): number | undefined {
  return value === undefined ? undefined : integerOption(stage, name, value, range);
}

export function booleanOption(stage: string, name: string, value: unknown, defaultValue: boolean): boolean {
  if (value === undefined) return defaultValue;
  if (typeof value !== 'boolean') throw invalidArgument(name, 'a boolean', value, stage);
  return value;
}

export function oneOfOption<T extends string>(
  stage: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
  defaultValue?: T,
): T {
  if (value === undefined && defaultValue !== undefined) return defaultValue;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value, stage);
  }
  return value as T;
}

export function objectOption(stage: string, name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(name, 'an options object', value, stage);
  }
  return value as Record<string, unknown>;
}

function describeRange(what: string, min: number, max: number): string {
  const hasMin = min > Number.MIN_SAFE_INTEGER;
  const hasMax = max < Number.MAX_SAFE_INTEGER;
  if (hasMin && hasMax) return `${what} in [${min}, ${max}]`;
  const bare = what.replace(/^an? /, '');
  if (hasMin && min === 0) return `a non-negative ${bare}`;
  if (hasMin && min === 1) return `a positive ${bare}`;
  if (hasMin) return `${what} >= ${min}`;
  if (hasMax) return `${what} <= ${max}`;
  return what;
}
