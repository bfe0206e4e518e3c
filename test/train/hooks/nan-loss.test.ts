import { describe, expect, it } from 'vitest';
import { InputError, InvalidArgumentError } from '../../../src/core/errors.js';
// Imported under another name: biome reads a bare `fit(` as a focused test.
import { fit as runFit } from '../../../src/train/fit.js';
import { NanLossError, nanLoss } from '../../../src/train/hooks/nan-loss.js';
import { thrownBy } from '../../helpers/files.js';
import { rejection } from '../../helpers/promises.js';
import { countingSource, FakeTrainer, fakeBatches } from '../fake-trainer.js';

const lossesThen = (bad: number, at: number) =>
  new FakeTrainer({ loss: (i) => (i + 1 === at ? bad : 1 / (i + 1)) });

describe('nanLoss', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`fails the run with a NanLossError naming the step for a loss of ${bad}`, async () => {
      const source = countingSource(fakeBatches(10));
      const err = await rejection(
        runFit(source, lossesThen(bad, 4), { initialStep: 20, hooks: [nanLoss()] }),
      );
      expect(err).toBeInstanceOf(NanLossError);
      expect(err).toBeInstanceOf(InputError);
      expect(err.name).toBe('NanLossError');
      expect(err.message).toBe(`nanLoss: loss is ${bad} at step 24`);
      expect((err as NanLossError).step).toBe(24);
      expect((err as NanLossError).loss).toBe(bad);
      expect((err as NanLossError).stage).toBe('nanLoss');
      expect(source.pulls).toBe(4);
      expect(source.closed).toBe(true);
    });
  }

  it('stops with a reason instead when fail is false', async () => {
    const result = await runFit(countingSource(fakeBatches(10)), lossesThen(Number.NaN, 3), {
      hooks: [nanLoss({ fail: false })],
    });
    expect(result).toMatchObject({ steps: 3, stoppedBy: 'hook', reason: 'loss is NaN at step 3' });
    expect(result.lastLoss).toBeNaN();
  });

  it('lets finite losses through, however large', async () => {
    const trainer = new FakeTrainer({ loss: (i) => (i % 2 ? -Number.MAX_VALUE : Number.MAX_VALUE) });
    const result = await runFit(countingSource(fakeBatches(6)), trainer, { hooks: [nanLoss()] });
    expect(result).toMatchObject({ steps: 6, stoppedBy: 'end' });
  });

  it('rejects bad options', () => {
    expect(thrownBy(() => nanLoss({ fail: 'yes' } as never)).message).toBe(
      'nanLoss: Expected a boolean for fail but received "yes"',
    );
    const err = thrownBy(() => nanLoss(3 as never));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/Expected an options object for options/);
  });
});
