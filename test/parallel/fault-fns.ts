/**
 * Per-example functions that fail in every way a worker can, for the mapParallel fault tests. Kept
 * apart from fixtures-fns.ts so that a replacement worker loads quickly (no image modules).
 */
import { DecodeError } from '../../src/core/errors.js';
import { integerOption } from '../../src/core/validate.js';

/** A user's own error class, known only where the function runs (a worker does not send classes). */
export class CorruptLabelError extends DecodeError {}

export interface Item {
  key: string;
  v: number;
  /** What to do with this element: nothing, or one of the faults below. */
  fault?:
    | 'decode'
    | 'range'
    | 'exit'
    | 'oom'
    | 'hang'
    | 'hang-async'
    | 'unsendable'
    | 'subclass'
    | 'bad-option';
}

/** Returns { key, v: 2v }, or fails as the element asks, synchronously. */
export function faulty(x: Item): unknown {
  switch (x.fault) {
    case 'decode':
      throw new DecodeError(`decode: cannot decode ${JSON.stringify(x.key)}`, {
        key: x.key,
        parameter: 'bytes',
      });
    case 'range':
      throw new RangeError(`no ${x.v}`);
    case 'exit':
      process.exit(3);
      break;
    case 'oom': {
      // Grows the JS heap until the worker's resourceLimits stop it.
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array(1_000_000).fill(x.v));
    }
    case 'hang':
      for (;;) {
        // A synchronous loop that never yields: only terminating the thread stops it.
      }
    case 'subclass':
      throw new CorruptLabelError(`label out of range in ${x.key}`, {
        file: 'labels.bin',
        offset: 8 * x.v,
        key: x.key,
        parameter: 'numClasses',
        stage: 'readLabels',
      });
    case 'bad-option':
      // A library option the program got wrong (a size of -1), not bad data.
      integerOption('resize', 'size', -1, { min: 1 });
      break;
    case 'unsendable':
      return { key: x.key, v: () => x.v };
  }
  return { key: x.key, v: 2 * x.v };
}

/** The same failures, thrown after an await (a rejected promise rather than a throw). */
export async function faultyAsync(x: Item): Promise<unknown> {
  await new Promise((resolve) => setImmediate(resolve));
  if (x.fault === 'hang-async') return new Promise(() => {});
  return faulty(x);
}
