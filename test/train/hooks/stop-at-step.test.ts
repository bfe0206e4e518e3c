import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
// Imported under another name: biome reads a bare `fit(` as a focused test.
import { fit as runFit } from '../../../src/train/fit.js';
import { stopAtStep } from '../../../src/train/hooks/stop-at-step.js';
import { thrownBy } from '../../helpers/files.js';
import { countingSource, FakeTrainer, fakeBatches } from '../fake-trainer.js';

describe('stopAtStep', () => {
  it('stops when the global step reaches lastStep', async () => {
    const source = countingSource(fakeBatches(100));
    const result = await runFit(source, new FakeTrainer(), { hooks: [stopAtStep(7)] });
    expect(result).toMatchObject({ steps: 7, stepsRun: 7, stoppedBy: 'hook', reason: 'reached step 7' });
    expect(source.pulls).toBe(7);
  });

  it('counts lastStep in global steps: a resumed run only runs the rest', async () => {
    const result = await runFit(countingSource(fakeBatches(100)), new FakeTrainer(), {
      initialStep: 5,
      hooks: [stopAtStep({ lastStep: 7 })],
    });
    expect(result).toMatchObject({ steps: 7, stepsRun: 2 });
  });

  it('runs no step when the run starts at or past lastStep', async () => {
    const source = countingSource(fakeBatches(10));
    const result = await runFit(source, new FakeTrainer(), { initialStep: 9, hooks: [stopAtStep(7)] });
    expect(result).toMatchObject({ steps: 9, stepsRun: 0, stoppedBy: 'hook', reason: 'reached step 7' });
    expect(source.pulls).toBe(0);
  });

  it('counts numSteps from the start step, afresh in every run it is used for', async () => {
    const hook = stopAtStep({ numSteps: 3 });
    const first = await runFit(countingSource(fakeBatches(10)), new FakeTrainer(), {
      initialStep: 10,
      hooks: [hook],
    });
    expect(first).toMatchObject({ steps: 13, stepsRun: 3, reason: 'reached step 13' });
    const second = await runFit(countingSource(fakeBatches(10)), new FakeTrainer(), {
      initialStep: 13,
      hooks: [hook],
    });
    expect(second).toMatchObject({ steps: 16, stepsRun: 3 });
    const none = await runFit(countingSource(fakeBatches(10)), new FakeTrainer(), {
      hooks: [stopAtStep({ numSteps: 0 })],
    });
    expect(none.stepsRun).toBe(0);
  });

  it('property: steps run = clamp(lastStep - initialStep, 0, batches)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        async (initialStep, lastStep, count) => {
          const result = await runFit(countingSource(fakeBatches(count)), new FakeTrainer(), {
            initialStep,
            hooks: [stopAtStep(lastStep)],
          });
          expect(result.stepsRun).toBe(Math.min(Math.max(lastStep - initialStep, 0), count));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects bad arguments', () => {
    const cases: [unknown, RegExp][] = [
      [-1, /Expected a non-negative integer for lastStep but received -1/],
      [2.5, /for lastStep but received 2.5/],
      [{ numSteps: -3 }, /Expected a non-negative integer for numSteps but received -3/],
      [{ lastStep: 5, numSteps: 3 }, /Expected exactly one of lastStep and numSteps for options/],
      [{}, /Expected exactly one of lastStep and numSteps/],
      ['10', /Expected a step number or \{ lastStep \} or \{ numSteps \} for lastStep but received "10"/],
      [null, /for lastStep but received null/],
    ];
    for (const [arg, message] of cases) {
      const err = thrownBy(() => stopAtStep(arg as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^stopAtStep: /);
      expect(err.message).toMatch(message);
    }
  });
});
