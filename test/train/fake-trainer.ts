import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StepResult, Trainer } from '../../src/train/trainer.js';

/**
 * Test doubles for the training loop: a deterministic trainer that needs no tfjs, and batch sources
 * that count pulls and record their clean-up.
 */

export interface FakeBatch {
  key: string[];
  /** What the fake model learns from. */
  value: number;
}

export function fakeBatches(count: number, size = 2, first = 0): FakeBatch[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Array.from({ length: size }, (_, j) => `b${first + i}:${j}`),
    value: first + i,
  }));
}

export interface FakeTrainerOptions {
  /** Loss of each step from the step index in this trainer's life (default: the running weight). */
  loss?: (index: number, batch: FakeBatch) => number;
  /** Milliseconds each step takes. */
  stepMs?: number;
  /** Learning rate reported before each step, from the steps done so far. */
  learningRate?: (done: number) => number;
  /** Omit save/load. */
  noCheckpoints?: boolean;
}

/**
 * A model with one weight, `w <- 0.5 w + value`: its state depends on every batch in order, so a
 * restored run that saw different batches ends with a different weight.
 */
export class FakeTrainer implements Trainer<FakeBatch> {
  weight = 0;
  done = 0;
  readonly seen: number[] = [];
  /** Set while a step runs (to prove that no batch is pulled meanwhile). */
  busy = false;
  saves: string[] = [];
  loads: string[] = [];
  declare save?: (dir: string) => Promise<void>;
  declare load?: (dir: string) => Promise<void>;
  declare learningRate?: () => number;

  constructor(private readonly options: FakeTrainerOptions = {}) {
    if (!options.noCheckpoints) {
      this.save = async (dir) => {
        this.saves.push(dir);
        await writeFile(join(dir, 'weights.json'), JSON.stringify({ weight: this.weight, done: this.done }));
      };
      this.load = async (dir) => {
        this.loads.push(dir);
        const state = JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8'));
        this.weight = state.weight;
        this.done = state.done;
      };
    }
    if (options.learningRate) this.learningRate = () => options.learningRate!(this.done);
  }

  async step(batch: FakeBatch): Promise<StepResult> {
    this.busy = true;
    try {
      if (this.options.stepMs) await sleep(this.options.stepMs);
      this.weight = 0.5 * this.weight + batch.value;
      this.seen.push(batch.value);
      const index = this.done++;
      const loss = this.options.loss ? this.options.loss(index, batch) : this.weight;
      return { loss, accuracy: 0.5 };
    } finally {
      this.busy = false;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface CountingSource<T> extends AsyncIterable<T> {
  /** `next()` calls so far. */
  pulls: number;
  /** Whether the generator's `finally` ran. */
  closed: boolean;
}

/** An async generator over `items` that counts pulls, optionally waits before each, and records clean-up. */
export function countingSource<T>(
  items: readonly T[],
  options: { delayMs?: number; onPull?: (pulls: number) => void } = {},
): CountingSource<T> {
  const source: CountingSource<T> = {
    pulls: 0,
    closed: false,
    [Symbol.asyncIterator]() {
      const inner = (async function* () {
        try {
          for (const item of items) {
            if (options.delayMs) await sleep(options.delayMs);
            yield item;
          }
        } finally {
          source.closed = true;
        }
      })();
      return {
        next: () => {
          source.pulls++;
          options.onPull?.(source.pulls);
          return inner.next();
        },
        return: (value?: unknown) => inner.return(value as undefined),
      };
    },
  };
  return source;
}
