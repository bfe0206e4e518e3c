import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
// Imported under another name: biome reads a bare `fit(` as a focused test.
import { fit as runFit } from '../../../src/train/fit.js';
import { formatWindow, logger } from '../../../src/train/hooks/logger.js';
import { thrownBy } from '../../helpers/files.js';
import { rejection } from '../../helpers/promises.js';
import { countingSource, FakeTrainer, fakeBatches } from '../fake-trainer.js';

const LINE =
  /^step (\d+): loss = (\S+) \((\d+\.\d) examples\/s; (\d+\.\d{3}) s\/batch; input-bound (\d+\.\d)%\)$/;

describe('logger', () => {
  it('logs a line every `every` steps with the mean loss of those steps, and the rest at the end', async () => {
    const lines: string[] = [];
    const trainer = new FakeTrainer({ loss: (i) => i + 1 });
    await runFit(countingSource(fakeBatches(7)), trainer, {
      hooks: [logger({ every: 3, log: (l) => lines.push(l) })],
    });
    expect(lines).toHaveLength(3);
    const parsed = lines.map((l) => LINE.exec(l));
    expect(parsed.every((m) => m !== null)).toBe(true);
    expect(parsed.map((m) => Number(m![1]))).toEqual([3, 6, 7]);
    // Means of (1, 2, 3), (4, 5, 6) and (7).
    expect(parsed.map((m) => m![2])).toEqual(['2.000', '5.000', '7.000']);
  });

  it('measures throughput and the share of time spent waiting for input', async () => {
    const lines: string[] = [];
    const hook = logger({ every: 4, log: (l) => lines.push(l) });
    // 30 ms waiting for each batch of 2 examples, 10 ms per step: input-bound about 75%.
    await runFit(countingSource(fakeBatches(4, 2), { delayMs: 30 }), new FakeTrainer({ stepMs: 10 }), {
      hooks: [hook],
    });
    const last = hook.last!;
    expect(last).toMatchObject({ step: 4, steps: 4, examples: 8 });
    expect(last.inputBoundFraction).toBeGreaterThan(0.5);
    expect(last.inputBoundFraction).toBeLessThan(0.95);
    expect(last.secondsPerBatch).toBeGreaterThanOrEqual(0.038);
    expect(last.examplesPerSecond).toBeCloseTo(8 / last.seconds, 6);
    expect(lines).toEqual([formatWindow(last)]);
    const m = LINE.exec(lines[0])!;
    expect(Number(m[5])).toBeCloseTo(last.inputBoundFraction * 100, 0);
  });

  it('reports a small input share when the input is ready before the step asks', async () => {
    const hook = logger({ every: 5, log: () => {} });
    await runFit(countingSource(fakeBatches(5)), new FakeTrainer({ stepMs: 20 }), { hooks: [hook] });
    expect(hook.last!.inputBoundFraction).toBeLessThan(0.1);
  });

  it('exposes the whole run in total, frozen at the end, and starts over in a new run', async () => {
    const hook = logger({ every: 2, log: () => {} });
    await runFit(countingSource(fakeBatches(5, 3)), new FakeTrainer(), { hooks: [hook] });
    const total = hook.total!;
    expect(total).toMatchObject({ step: 5, steps: 5, examples: 15 });
    expect(hook.last).toMatchObject({ step: 5, steps: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(hook.total).toBe(total);
    await runFit(countingSource(fakeBatches(2, 3)), new FakeTrainer(), { hooks: [hook], initialStep: 5 });
    expect(hook.total).toMatchObject({ step: 7, steps: 2, examples: 6 });
  });

  it('logs nothing for a run without steps', async () => {
    const lines: string[] = [];
    const hook = logger({ log: (l) => lines.push(l) });
    await runFit(countingSource(fakeBatches(0)), new FakeTrainer(), { hooks: [hook] });
    expect(lines).toEqual([]);
    expect(hook.last).toBeUndefined();
    expect(hook.total).toBeUndefined();
  });

  it('logs the partial window when the run fails', async () => {
    const lines: string[] = [];
    const trainer = new FakeTrainer({
      loss: (i) => {
        if (i === 2) throw new Error('boom');
        return 1;
      },
    });
    const hook = logger({ every: 10, log: (l) => lines.push(l) });
    expect(
      (await rejection(runFit(countingSource(fakeBatches(5)), trainer, { hooks: [hook] }))).message,
    ).toBe('boom');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^step 2: loss = 1.000 /);
  });

  it('property: lines = ceil(steps / every), ending on the last step', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        async (steps, every) => {
          const lines: string[] = [];
          await runFit(countingSource(fakeBatches(steps)), new FakeTrainer(), {
            hooks: [logger({ every, log: (l) => lines.push(l) })],
          });
          expect(lines).toHaveLength(Math.ceil(steps / every));
          if (steps > 0) expect(Number(LINE.exec(lines.at(-1)!)![1])).toBe(steps);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects bad options', () => {
    const cases: [unknown, RegExp][] = [
      [{ every: 0 }, /^logger: Expected a positive integer for every but received 0$/],
      [{ every: 2.5 }, /for every but received 2.5/],
      [{ log: 'stdout' }, /^logger: Expected a function \(line\) => void for log but received "stdout"$/],
      [[], /Expected an options object for options/],
    ];
    for (const [options, message] of cases) {
      const err = thrownBy(() => logger(options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(message);
    }
  });
});
