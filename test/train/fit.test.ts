import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { Stream } from '../../src/core/stream.js';
// Imported under another name: biome reads a bare `fit(` as a focused test.
import { fit as runFit } from '../../src/train/fit.js';
import type { FitContext, FitOutcome, Hook, StepInfo } from '../../src/train/hooks/types.js';
import type { Trainer } from '../../src/train/trainer.js';
import { rejection } from '../helpers/promises.js';
import { countingSource, type FakeBatch, FakeTrainer, fakeBatches, sleep } from './fake-trainer.js';

/** A hook that records every call with the step the context reported. */
function recorder() {
  const calls: string[] = [];
  const infos: StepInfo[] = [];
  const outcomes: FitOutcome[] = [];
  const hook: Hook<FakeBatch> = {
    begin: (ctx) => {
      calls.push(`begin@${ctx.step}`);
    },
    afterStep: (info, ctx) => {
      calls.push(`after${info.step}@${ctx.step}`);
      infos.push(info);
    },
    end: (ctx, outcome) => {
      calls.push(`end@${ctx.step}`);
      outcomes.push(outcome);
    },
  };
  return { hook, calls, infos, outcomes };
}

const stopAfter = (n: number, reason = `after ${n}`): Hook<unknown> => ({
  afterStep: (info, ctx) => {
    if (info.step >= n) ctx.stop(reason);
  },
});

describe('fit: the loop', () => {
  it('trains on every batch in order and reports how it ended', async () => {
    const trainer = new FakeTrainer();
    const result = await runFit(countingSource(fakeBatches(5)), trainer);
    expect(trainer.seen).toEqual([0, 1, 2, 3, 4]);
    expect(result).toMatchObject({ steps: 5, stepsRun: 5, stoppedBy: 'end', lastLoss: trainer.weight });
    expect(result.reason).toBeUndefined();
    expect(result.seconds).toBeGreaterThanOrEqual(0);
  });

  it('counts global steps from initialStep', async () => {
    const rec = recorder();
    const result = await runFit(countingSource(fakeBatches(3)), new FakeTrainer(), {
      initialStep: 100,
      hooks: [rec.hook],
    });
    expect(result).toMatchObject({ steps: 103, stepsRun: 3 });
    expect(rec.calls).toEqual(['begin@100', 'after101@101', 'after102@102', 'after103@103', 'end@103']);
  });

  it('never pulls the next batch before the step and its hooks are done (backpressure)', async () => {
    const trainer = new FakeTrainer({ stepMs: 5 });
    let hookBusy = false;
    const pullsDuringWork: number[] = [];
    const pullsAtStep: number[] = [];
    const source = countingSource(fakeBatches(6), {
      onPull: (pull) => {
        if (trainer.busy || hookBusy) pullsDuringWork.push(pull);
      },
    });
    const slowHook: Hook<FakeBatch> = {
      afterStep: async () => {
        hookBusy = true;
        pullsAtStep.push(source.pulls);
        await sleep(3);
        hookBusy = false;
      },
    };
    await runFit(source, trainer, { hooks: [slowHook] });
    expect(pullsDuringWork).toEqual([]);
    // Step k ran on pull k; one more pull found the end.
    expect(pullsAtStep).toEqual([1, 2, 3, 4, 5, 6]);
    expect(source.pulls).toBe(7);
  });

  it('consumes a Stream with RxJS operators', async () => {
    const stream = Stream.from(fakeBatches(4)).pipe(map((b) => ({ ...b, value: b.value * 10 })));
    const trainer = new FakeTrainer();
    const result = await runFit(stream, trainer);
    expect(trainer.seen).toEqual([0, 10, 20, 30]);
    expect(result.steps).toBe(4);
  });

  it('gives hooks the step numbers, metrics, examples, timings and learning rate', async () => {
    const rec = recorder();
    const trainer = new FakeTrainer({ stepMs: 30, learningRate: (done) => 0.1 / (done + 1) });
    await runFit(countingSource(fakeBatches(2, 3), { delayMs: 30 }), trainer, { hooks: [rec.hook] });
    expect(rec.infos.map((i) => i.step)).toEqual([1, 2]);
    // The rate read before each step: the one the step used.
    expect(rec.infos.map((i) => i.learningRate)).toEqual([0.1, 0.05]);
    for (const info of rec.infos) {
      expect(info.metrics).toEqual({ accuracy: 0.5 });
      expect(info.examples).toBe(3);
      expect(info.waitSeconds).toBeGreaterThanOrEqual(0.025);
      expect(info.waitSeconds).toBeLessThan(1);
      expect(info.stepSeconds).toBeGreaterThanOrEqual(0.025);
      expect(info.stepSeconds).toBeLessThan(1);
    }
  });

  it('leaves learningRate out when the trainer has none', async () => {
    const rec = recorder();
    await runFit(countingSource(fakeBatches(1)), new FakeTrainer(), { hooks: [rec.hook] });
    expect('learningRate' in rec.infos[0]).toBe(false);
  });

  it('counts examples from key, else label.shape[0], else 1, or with batchSize', async () => {
    const examplesOf = async <B>(batches: B[], batchSize?: (b: B) => number) => {
      const seen: number[] = [];
      const trainer: Trainer<B> = { step: async () => ({ loss: 0 }) };
      await runFit(countingSource(batches), trainer, {
        batchSize,
        hooks: [{ afterStep: (info) => void seen.push(info.examples) }],
      });
      return seen;
    };
    expect(await examplesOf([{ key: ['a', 'b', 'c'], label: { shape: [9] } }])).toEqual([3]);
    expect(await examplesOf([{ label: { dtype: 'int32', shape: [7], data: new Int32Array(7) } }])).toEqual([
      7,
    ]);
    expect(await examplesOf([{ image: 1 }, 42, null])).toEqual([1, 1, 1]);
    expect(await examplesOf([{ n: 5 }, { n: 0 }], (b) => b.n)).toEqual([5, 0]);
  });

  it('tells hooks the input position when the batches have one', async () => {
    const source = countingSource(fakeBatches(3));
    const positioned = Object.assign(source, { position: () => ({ pulled: source.pulls }) });
    const positions: unknown[] = [];
    await runFit(positioned, new FakeTrainer(), {
      hooks: [{ afterStep: (_info, ctx) => void positions.push(ctx.inputPosition()) }],
    });
    expect(positions).toEqual([{ pulled: 1 }, { pulled: 2 }, { pulled: 3 }]);
    let plain: unknown = 'unset';
    await runFit(countingSource(fakeBatches(1)), new FakeTrainer(), {
      hooks: [{ afterStep: (_info, ctx) => void (plain = ctx.inputPosition()) }],
    });
    expect(plain).toBeUndefined();
  });

  it('runs on an empty input: begin and end, no steps', async () => {
    const rec = recorder();
    const result = await runFit(countingSource<FakeBatch>([]), new FakeTrainer(), { hooks: [rec.hook] });
    expect(result).toMatchObject({ steps: 0, stepsRun: 0, stoppedBy: 'end' });
    expect(result.lastLoss).toBeUndefined();
    expect(rec.calls).toEqual(['begin@0', 'end@0']);
  });
});

describe('fit: stopping', () => {
  it('stops when a hook asks, closes the input and keeps the first reason', async () => {
    const source = countingSource(fakeBatches(10));
    const rec = recorder();
    const result = await runFit(source, new FakeTrainer(), {
      hooks: [stopAfter(3, 'first'), stopAfter(3, 'second'), rec.hook],
    });
    expect(result).toMatchObject({ steps: 3, stoppedBy: 'hook', reason: 'first' });
    // The other hooks still saw step 3.
    expect(rec.calls).toEqual(['begin@0', 'after1@1', 'after2@2', 'after3@3', 'end@3']);
    expect(source.pulls).toBe(3);
    expect(source.closed).toBe(true);
    expect(rec.outcomes[0]).toEqual({ ok: true, result });
  });

  it('stops before pulling anything when a hook stops in begin', async () => {
    const source = countingSource(fakeBatches(3));
    const result = await runFit(source, new FakeTrainer(), {
      hooks: [{ begin: (ctx: FitContext<unknown>) => ctx.stop('nothing to do') }],
    });
    expect(result).toMatchObject({ steps: 0, stoppedBy: 'hook', reason: 'nothing to do' });
    expect(source.pulls).toBe(0);
  });

  it('does not pull when the signal is aborted before the start', async () => {
    const source = countingSource(fakeBatches(3));
    let opened = false;
    const watched: AsyncIterable<FakeBatch> = {
      [Symbol.asyncIterator]: () => {
        opened = true;
        return source[Symbol.asyncIterator]();
      },
    };
    const rec = recorder();
    const result = await runFit(watched, new FakeTrainer(), {
      signal: AbortSignal.abort(new Error('shutting down')),
      hooks: [rec.hook],
    });
    expect(result).toMatchObject({ steps: 0, stepsRun: 0, stoppedBy: 'signal', reason: 'shutting down' });
    expect(opened).toBe(false);
    expect(rec.calls).toEqual(['begin@0', 'end@0']);
  });

  it('finishes the current step and its hooks when the signal aborts during a step', async () => {
    const controller = new AbortController();
    const source = countingSource(fakeBatches(10));
    const rec = recorder();
    const trainer: Trainer<FakeBatch> = {
      step: async (batch) => {
        if (batch.value === 2) controller.abort('user pressed ^C');
        return { loss: batch.value };
      },
    };
    const result = await runFit(source, trainer, { signal: controller.signal, hooks: [rec.hook] });
    expect(result).toMatchObject({ steps: 3, stoppedBy: 'signal', reason: 'user pressed ^C', lastLoss: 2 });
    expect(rec.infos.map((i) => i.step)).toEqual([1, 2, 3]);
    expect(source.pulls).toBe(3);
    expect(source.closed).toBe(true);
  });

  it('stops at once when aborted while a library stream is waiting for a batch, and closes it', async () => {
    let cleanedUp = false;
    let timer: NodeJS.Timeout | undefined;
    // A stage whose pull waits a long time and whose return() closes it immediately, as the
    // library's stages do.
    const slow = new Stream<FakeBatch>(
      () => ({
        next: () =>
          new Promise((resolve) => {
            timer = setTimeout(() => resolve({ done: false, value: fakeBatches(1)[0] }), 10_000);
          }),
        return: async () => {
          clearTimeout(timer);
          cleanedUp = true;
          return { done: true, value: undefined };
        },
      }),
      { name: 'slow' },
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const t0 = performance.now();
    const result = await runFit(slow, new FakeTrainer(), { signal: controller.signal });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(result).toMatchObject({ steps: 0, stoppedBy: 'signal', reason: 'This operation was aborted' });
    expect(cleanedUp).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('returns a plain async generator aborted mid-pull: its finally has run when fit resolves', async () => {
    const source = countingSource(fakeBatches(5), { delayMs: 150 });
    const controller = new AbortController();
    const trainer = new FakeTrainer();
    setTimeout(() => controller.abort(), 200); // during the second pull
    const result = await runFit(source, trainer, { signal: controller.signal });
    expect(result).toMatchObject({ steps: 1, stoppedBy: 'signal' });
    // A generator's return() waits for its pending pull; the batch that pull produced is not trained on.
    expect(source.closed).toBe(true);
    expect(trainer.seen).toEqual([0]);
  });

  it('removes its abort listeners after every pull', async () => {
    const controller = new AbortController();
    await runFit(countingSource(fakeBatches(50)), new FakeTrainer(), { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('ctx.signal is the given signal, or one that never aborts', async () => {
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const hook: Hook<unknown> = { begin: (ctx) => void signals.push(ctx.signal) };
    await runFit(countingSource(fakeBatches(1)), new FakeTrainer(), {
      signal: controller.signal,
      hooks: [hook],
    });
    await runFit(countingSource(fakeBatches(1)), new FakeTrainer(), { hooks: [hook] });
    expect(signals[0]).toBe(controller.signal);
    expect(signals[1]).toBeInstanceOf(AbortSignal);
    expect(signals[1].aborted).toBe(false);
  });

  it('property: steps = initialStep + min(batches, stop step); pulls = steps run (+1 to see the end)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 0, max: 1000 }),
        async (count, stopAt, initialStep) => {
          const source = countingSource(fakeBatches(count));
          const result = await runFit(source, new FakeTrainer(), {
            initialStep,
            hooks: [stopAfter(initialStep + stopAt)],
          });
          const run = Math.min(count, stopAt);
          expect(result.steps).toBe(initialStep + run);
          expect(result.stepsRun).toBe(run);
          expect(result.stoppedBy).toBe(stopAt <= count ? 'hook' : 'end');
          expect(source.pulls).toBe(stopAt <= count ? run : run + 1);
          expect(source.closed).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('fit: errors', () => {
  it('propagates a trainer error after closing the input and running end hooks with it', async () => {
    const source = countingSource(fakeBatches(5));
    const rec = recorder();
    const boom = new Error('out of memory');
    const trainer: Trainer<FakeBatch> = {
      step: async (b) => {
        if (b.value === 1) throw boom;
        return { loss: 1 };
      },
    };
    expect(await rejection(runFit(source, trainer, { hooks: [rec.hook] }))).toBe(boom);
    expect(source.closed).toBe(true);
    expect(rec.calls).toEqual(['begin@0', 'after1@1', 'end@1']);
    expect(rec.outcomes).toEqual([{ ok: false, error: boom }]);
  });

  it('propagates a hook error from afterStep; later hooks of that step do not run', async () => {
    const source = countingSource(fakeBatches(5));
    const rec = recorder();
    const boom = new Error('disk full');
    const failing: Hook<unknown> = {
      afterStep: (info) => {
        if (info.step === 2) throw boom;
      },
    };
    expect(await rejection(runFit(source, new FakeTrainer(), { hooks: [failing, rec.hook] }))).toBe(boom);
    expect(source.closed).toBe(true);
    expect(rec.calls).toEqual(['begin@0', 'after1@1', 'end@2']);
    expect(rec.outcomes[0]).toEqual({ ok: false, error: boom });
  });

  it('propagates a begin error without pulling; only hooks whose begin completed get end', async () => {
    const source = countingSource(fakeBatches(5));
    const first = recorder();
    const last = recorder();
    const boom = new Error('bad config');
    const failing: Hook<unknown> = {
      begin: () => {
        throw boom;
      },
      end: () => {
        throw new Error('must not run');
      },
    };
    const err = await rejection(
      runFit(source, new FakeTrainer(), { hooks: [first.hook, failing, last.hook] }),
    );
    expect(err).toBe(boom);
    expect(source.pulls).toBe(0);
    expect(first.calls).toEqual(['begin@0', 'end@0']);
    expect(last.calls).toEqual([]);
  });

  it('propagates an end hook error after running the other end hooks', async () => {
    const rec = recorder();
    const boom = new Error('could not write summary');
    const failing: Hook<unknown> = {
      end: () => {
        throw boom;
      },
    };
    const err = await rejection(
      runFit(countingSource(fakeBatches(2)), new FakeTrainer(), { hooks: [failing, rec.hook] }),
    );
    expect(err).toBe(boom);
    expect(rec.calls.at(-1)).toBe('end@2');
  });

  it('keeps the loop error when an end hook fails too', async () => {
    const loopError = new Error('step failed');
    const trainer: Trainer<FakeBatch> = {
      step: async () => {
        throw loopError;
      },
    };
    const failingEnd: Hook<unknown> = {
      end: () => {
        throw new Error('end failed');
      },
    };
    expect(await rejection(runFit(countingSource(fakeBatches(2)), trainer, { hooks: [failingEnd] }))).toBe(
      loopError,
    );
  });

  it('propagates an input error (the iterator is not returned, as in for await)', async () => {
    let returned = false;
    const broken: AsyncIterable<FakeBatch> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          throw new Error('corrupt record');
        },
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const rec = recorder();
    const err = await rejection(runFit(broken, new FakeTrainer(), { hooks: [rec.hook] }));
    expect(err.message).toBe('corrupt record');
    expect(returned).toBe(false);
    expect(rec.outcomes[0]).toMatchObject({ ok: false });
  });

  it('propagates an input iterator whose next() throws synchronously', async () => {
    const broken: AsyncIterable<FakeBatch> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          throw new Error('sync failure');
        },
      }),
    };
    expect((await rejection(runFit(broken, new FakeTrainer()))).message).toBe('sync failure');
  });

  it('propagates an error from closing the input', async () => {
    const source: AsyncIterable<FakeBatch> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: fakeBatches(1)[0] }),
        return: async () => {
          throw new Error('close failed');
        },
      }),
    };
    const err = await rejection(runFit(source, new FakeTrainer(), { hooks: [stopAfter(1)] }));
    expect(err.message).toBe('close failed');
  });

  it('rejects a step result without a numeric loss, naming trainer.step', async () => {
    for (const bad of [undefined, null, 3, { loss: '0.5' }, {}]) {
      const trainer = { step: async () => bad } as unknown as Trainer<FakeBatch>;
      const source = countingSource(fakeBatches(3));
      const err = await rejection(runFit(source, trainer));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^fit: Expected a result \{ loss: number, \.\.\. \} for trainer\.step/);
      expect(source.closed).toBe(true);
    }
  });

  it('rejects a batchSize function that returns something other than a count', async () => {
    for (const bad of [-1, 1.5, Number.NaN, '3']) {
      const err = await rejection(
        runFit(countingSource(fakeBatches(1)), new FakeTrainer(), { batchSize: () => bad as number }),
      );
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain('for batchSize');
    }
  });

  it('rejects bad arguments before pulling anything', async () => {
    const source = countingSource(fakeBatches(3));
    const trainer = new FakeTrainer();
    const cases: [unknown, unknown, unknown, RegExp][] = [
      [
        [1, 2],
        trainer,
        {},
        /Expected a Stream or an AsyncIterable of batches for batches but received \[1,2\]/,
      ],
      [null, trainer, {}, /for batches but received null/],
      [source, {}, {}, /Expected a Trainer \(an object with a step\(batch\) method\) for trainer/],
      [source, null, {}, /for trainer but received null/],
      [source, trainer, 5, /Expected an options object for options/],
      [source, trainer, { hooks: {} }, /Expected an array of hooks for hooks/],
      [source, trainer, { hooks: [null] }, /for hooks\[0\] but received null/],
      [source, trainer, { hooks: [{}, { afterStep: 1 }] }, /Expected a function for hooks\[1\]\.afterStep/],
      [source, trainer, { signal: {} }, /Expected an AbortSignal for signal/],
      [source, trainer, { initialStep: -1 }, /Expected a non-negative integer for initialStep/],
      [source, trainer, { initialStep: 1.5 }, /for initialStep/],
      [
        source,
        trainer,
        { batchSize: 4 },
        /Expected a function \(batch\) => number of examples for batchSize/,
      ],
    ];
    for (const [batches, t, options, message] of cases) {
      const err = await rejection(runFit(batches as never, t as never, options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^fit: /);
      expect(err.message).toMatch(message);
    }
    expect(source.pulls).toBe(0);
  });
});
