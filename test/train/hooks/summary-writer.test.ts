import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InvalidArgumentError } from '../../../src/core/errors.js';
// Imported under another name: biome reads a bare `fit(` as a focused test.
import { fit as runFit } from '../../../src/train/fit.js';
import { nanLoss } from '../../../src/train/hooks/nan-loss.js';
import {
  MAX_PLOTTED_ROWS,
  SUMMARY_HEADER,
  summaryPlot,
  summaryWriter,
} from '../../../src/train/hooks/summary-writer.js';
import type { Hook } from '../../../src/train/hooks/types.js';
import { makeTempDir, type TempDir, thrownBy } from '../../helpers/files.js';
import { rejection } from '../../helpers/promises.js';
import { countingSource, FakeTrainer, fakeBatches } from '../fake-trainer.js';

let tmp: TempDir;
let n = 0;
beforeAll(async () => {
  tmp = await makeTempDir('summary');
});
afterAll(async () => {
  await tmp.cleanup();
});
const freshDir = () => tmp.path(`run-${n++}`);

async function csvLines(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'summary.csv'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

const parse = (line: string) => line.split(',');

describe('summaryWriter', () => {
  it('writes the header and one row per step: step, loss, rate, examples/s, wait fraction', async () => {
    const dir = freshDir();
    const trainer = new FakeTrainer({ loss: (i) => 1 / (i + 1), learningRate: (done) => 0.1 * 0.5 ** done });
    await runFit(countingSource(fakeBatches(4, 8), { delayMs: 5 }), trainer, {
      hooks: [summaryWriter({ dir })],
    });
    const lines = await csvLines(dir);
    expect(lines[0]).toBe(SUMMARY_HEADER);
    expect(lines).toHaveLength(5);
    lines.slice(1).forEach((line, i) => {
      const [step, loss, rate, speed, wait] = parse(line);
      expect(Number(step)).toBe(i + 1);
      expect(Number(loss)).toBe(1 / (i + 1));
      expect(Number(rate)).toBe(0.1 * 0.5 ** i);
      expect(Number(speed)).toBeGreaterThan(0);
      expect(Number(wait)).toBeGreaterThan(0);
      expect(Number(wait)).toBeLessThanOrEqual(1);
    });
  });

  it('writes every N steps, with throughput over the steps since the previous row', async () => {
    const dir = freshDir();
    const hook = summaryWriter({ dir, every: 3, plot: false });
    await runFit(countingSource(fakeBatches(10, 4)), new FakeTrainer({ stepMs: 5 }), { hooks: [hook] });
    const lines = await csvLines(dir);
    expect(lines.slice(1).map((l) => Number(parse(l)[0]))).toEqual([3, 6, 9]);
    expect(parse(lines[1])[2]).toBe(''); // no learning rate
    for (const row of hook.rows) {
      // 3 steps of 4 examples, at least 5 ms each: at most 800 examples/s.
      expect(row.examplesPerSecond).toBeGreaterThan(0);
      expect(row.examplesPerSecond).toBeLessThan(800);
    }
  });

  it('property: rows = floor(end / every) - floor(start / every), header once, across resumed runs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 4 }),
        async (runs, every) => {
          const dir = freshDir();
          let step = 0;
          for (const steps of runs) {
            await runFit(countingSource(fakeBatches(steps)), new FakeTrainer(), {
              initialStep: step,
              hooks: [summaryWriter({ dir, every, plot: false })],
            });
            step += steps;
          }
          const lines = await csvLines(dir);
          expect(lines.filter((l) => l === SUMMARY_HEADER)).toHaveLength(1);
          expect(lines.slice(1).map((l) => Number(parse(l)[0]))).toEqual(
            Array.from({ length: Math.floor(step / every) }, (_, i) => (i + 1) * every),
          );
        },
      ),
      { numRuns: 25 },
    );
  });

  it('drops rows past the step a resumed run starts from', async () => {
    const dir = freshDir();
    await runFit(countingSource(fakeBatches(8)), new FakeTrainer({ loss: () => 1 }), {
      hooks: [summaryWriter({ dir, plot: false })],
    });
    // Resume from a checkpoint at step 5: the rows of steps 6..8 belong to the lost part of the run.
    const hook = summaryWriter({ dir, plot: false });
    await runFit(countingSource(fakeBatches(2)), new FakeTrainer({ loss: () => 2 }), {
      initialStep: 5,
      hooks: [hook],
    });
    const lines = await csvLines(dir);
    expect(lines.slice(1).map((l) => parse(l).slice(0, 2).join(','))).toEqual([
      '1,1',
      '2,1',
      '3,1',
      '4,1',
      '5,1',
      '6,2',
      '7,2',
    ]);
    expect(hook.rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('drops a half-written last row left by a crash', async () => {
    const dir = freshDir();
    await mkdir(dir);
    await writeFile(join(dir, 'summary.csv'), `${SUMMARY_HEADER}\n1,0.5,,100,0.1\n2,0.4`);
    await runFit(countingSource(fakeBatches(1)), new FakeTrainer({ loss: () => 0.3 }), {
      initialStep: 2,
      hooks: [summaryWriter({ dir, plot: false })],
    });
    expect((await csvLines(dir)).slice(1).map((l) => parse(l).slice(0, 2).join(','))).toEqual([
      '1,0.5',
      '3,0.3',
    ]);
  });

  it('writes NaN and infinite losses as such, and reads them back', async () => {
    const dir = freshDir();
    const losses = [1, Number.NaN, Number.POSITIVE_INFINITY];
    await runFit(countingSource(fakeBatches(3)), new FakeTrainer({ loss: (i) => losses[i] }), {
      hooks: [summaryWriter({ dir })],
    });
    expect((await csvLines(dir)).slice(1).map((l) => parse(l)[1])).toEqual(['1', 'NaN', 'Infinity']);
    const hook = summaryWriter({ dir, plot: false });
    await runFit(countingSource(fakeBatches(0)), new FakeTrainer(), { initialStep: 3, hooks: [hook] });
    expect(hook.rows.map((r) => r.loss)).toEqual(losses);
    expect(existsSync(join(dir, 'loss.png'))).toBe(true);
  });

  it('draws loss.png at the end: loss above the learning rate', async () => {
    const dir = freshDir();
    await runFit(countingSource(fakeBatches(30)), new FakeTrainer({ learningRate: (d) => 0.1 * 0.9 ** d }), {
      hooks: [summaryWriter({ dir })],
    });
    const meta = await sharp(join(dir, 'loss.png')).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 640, 520, 3]);
    const noRate = freshDir();
    await runFit(countingSource(fakeBatches(5)), new FakeTrainer(), {
      hooks: [summaryWriter({ dir: noRate })],
    });
    expect((await sharp(join(noRate, 'loss.png')).metadata()).height).toBe(320);
    expect((await readdir(noRate)).sort()).toEqual(['loss.png', 'summary.csv']);
  });

  it('redraws the plot every N rows during the run when asked', async () => {
    const dir = freshDir();
    const seen: boolean[] = [];
    const probe: Hook<unknown> = { afterStep: () => void seen.push(existsSync(join(dir, 'loss.png'))) };
    await runFit(countingSource(fakeBatches(6)), new FakeTrainer(), {
      hooks: [summaryWriter({ dir, every: 2, plotEveryRows: 2 }), probe],
    });
    expect(seen).toEqual([false, false, false, true, true, true]);
  });

  it('writes no plot with plot: false, nor for a run without rows', async () => {
    const off = freshDir();
    await runFit(countingSource(fakeBatches(3)), new FakeTrainer(), {
      hooks: [summaryWriter({ dir: off, plot: false })],
    });
    expect(await readdir(off)).toEqual(['summary.csv']);
    const empty = freshDir();
    await runFit(countingSource(fakeBatches(0)), new FakeTrainer(), {
      hooks: [summaryWriter({ dir: empty })],
    });
    expect(await readdir(empty)).toEqual(['summary.csv']);
    expect(await csvLines(empty)).toEqual([SUMMARY_HEADER]);
  });

  it('keeps the rows and draws the plot when the run fails', async () => {
    const dir = freshDir();
    const trainer = new FakeTrainer({ loss: (i) => (i === 3 ? Number.NaN : 1) });
    const err = await rejection(
      runFit(countingSource(fakeBatches(10)), trainer, { hooks: [summaryWriter({ dir }), nanLoss()] }),
    );
    expect(err.name).toBe('NanLossError');
    expect(await csvLines(dir)).toHaveLength(5);
    expect(existsSync(join(dir, 'loss.png'))).toBe(true);
  });

  it('refuses to append to a file that is not a summary, naming it and the line', async () => {
    const foreign = freshDir();
    await mkdir(foreign);
    await writeFile(join(foreign, 'summary.csv'), 'epoch,accuracy\n1,0.5\n');
    const source = countingSource(fakeBatches(3));
    const err = await rejection(
      runFit(source, new FakeTrainer(), { hooks: [summaryWriter({ dir: foreign })] }),
    );
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toContain(
      `summaryWriter: ${join(foreign, 'summary.csv')} does not start with the header`,
    );
    expect(source.pulls).toBe(0);

    for (const bad of ['x,1,,1,0', '1,abc,,1,0', '1,1,,1', '1,1,zz,1,0', '1,1,,NaN,0', '1,,,1,0']) {
      const dir = freshDir();
      await mkdir(dir);
      await writeFile(join(dir, 'summary.csv'), `${SUMMARY_HEADER}\n1,1,,1,0\n${bad}\n2,1,,1,0\n`);
      const e = await rejection(
        runFit(countingSource(fakeBatches(1)), new FakeTrainer(), { hooks: [summaryWriter({ dir })] }),
      );
      expect(e).toBeInstanceOf(DecodeError);
      expect(e.message).toBe(
        `summaryWriter: ${join(dir, 'summary.csv')} line 3 is not a summary row: ${JSON.stringify(bad)}`,
      );
      expect((e as DecodeError).file).toBe(join(dir, 'summary.csv'));
    }
  });

  it('keeps memory bounded on long runs: the plotted rows are thinned, the CSV keeps every row', async () => {
    const dir = freshDir();
    // A resumed run whose CSV already holds more rows than are plotted.
    const lines = Array.from({ length: MAX_PLOTTED_ROWS + 5 }, (_, i) => `${i + 1},1,0.1,100,0`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'summary.csv'), `${SUMMARY_HEADER}\n${lines.join('\n')}\n`);
    const hook = summaryWriter({ dir, plot: false });
    await runFit(countingSource(fakeBatches(3)), new FakeTrainer(), {
      hooks: [hook],
      initialStep: MAX_PLOTTED_ROWS + 5,
    });
    expect(hook.rows.length).toBeLessThanOrEqual(MAX_PLOTTED_ROWS);
    expect(hook.rows.at(-1)?.step).toBe(MAX_PLOTTED_ROWS + 8); // the latest step stays on the plot
    expect(hook.rows[0].step).toBe(1);
    expect(await csvLines(dir)).toHaveLength(MAX_PLOTTED_ROWS + 8 + 1);
  });

  it('rejects bad options', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /Expected a folder path \(a non-empty string\) for dir but received undefined/],
      [{ dir: 3 }, /for dir but received 3/],
      [{ dir: 'x', every: 0 }, /Expected a positive integer for every but received 0/],
      [{ dir: 'x', plot: 1 }, /Expected a boolean for plot/],
      [{ dir: 'x', plotEveryRows: -2 }, /Expected a positive integer for plotEveryRows/],
      [{ dir: 'x', smoothing: 1 }, /Expected a number in \[0, 1\) for smoothing but received 1/],
      [{ dir: 'x', smoothing: Number.NaN }, /for smoothing but received NaN/],
      ['x', /Expected an options object for options/],
    ];
    for (const [options, message] of cases) {
      const err = thrownBy(() => summaryWriter(options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^summaryWriter: /);
      expect(err.message).toMatch(message);
    }
  });
});

describe('summaryPlot', () => {
  it('stacks a learning-rate panel under the loss panel only when rates exist', () => {
    const rows = [1, 2, 3].map((step) => ({ step, loss: 1 / step, examplesPerSecond: 1, waitFraction: 0 }));
    expect(summaryPlot(rows).shape).toEqual([320, 640, 3]);
    const withRate = summaryPlot(rows.map((r) => ({ ...r, learningRate: 0.1 })));
    expect(withRate.shape).toEqual([520, 640, 3]);
    // The panels are drawn, not blank: the loss panel holds its series colour.
    const blue = [31, 119, 180];
    let found = 0;
    for (let p = 0; p < 320 * 640 * 3; p += 3) {
      if (
        withRate.data[p] === blue[0] &&
        withRate.data[p + 1] === blue[1] &&
        withRate.data[p + 2] === blue[2]
      )
        found++;
    }
    expect(found).toBeGreaterThan(50);
  });
});
