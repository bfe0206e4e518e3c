import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DecodeError, invalidArgument, NotFoundError } from '../../core/errors.js';
import { booleanOption, integerOption, objectOption, optionalIntegerOption } from '../../core/validate.js';
import { encodePng } from '../../decode/encode-image.js';
import type { Image } from '../../image/image.js';
import { type LineSeries, linePlot } from '../line-plot.js';
import { directoryOption } from './hook-options.js';
import { StepWindow } from './step-window.js';
import type { Hook } from './types.js';
import { writeFileAtomic } from './write-file-atomic.js';

const STAGE = 'summaryWriter';

export const SUMMARY_CSV = 'summary.csv';
export const SUMMARY_PNG = 'loss.png';
export const SUMMARY_HEADER = 'step,loss,learning_rate,examples_per_sec,wait_fraction';

export interface SummaryWriterOptions {
  /** Folder of summary.csv and loss.png (created when missing). */
  dir: string;
  /** Write a row at every global step that is a multiple of this (default 1). */
  every?: number;
  /** Draw loss.png at the end of the run (default true). */
  plot?: boolean;
  /** Also redraw loss.png every this many rows during the run. */
  plotEveryRows?: number;
  /**
   * Weight of the past in the smoothed loss curve drawn over the raw one (an exponential moving
   * average as TensorBoard's smoothing slider; default 0.9, 0 for none).
   */
  smoothing?: number;
}

export interface SummaryRow {
  step: number;
  /** The loss of that step. */
  loss: number;
  /** The learning rate of that step, when the trainer reports one. */
  learningRate?: number;
  /** Over the steps since the previous row. */
  examplesPerSecond: number;
  /** Share of the step cycle spent waiting for input, over the steps since the previous row. */
  waitFraction: number;
}

export interface SummaryWriterHook extends Hook {
  /**
   * The rows plotted: every row of summary.csv (earlier runs' included) up to MAX_PLOTTED_ROWS, then
   * thinned to every other row each time that many are held, so memory stays bounded on a run of a
   * million steps (the CSV keeps every row; a plot cannot show more points than it has pixels).
   */
  readonly rows: readonly SummaryRow[];
}

export const MAX_PLOTTED_ROWS = 20_000;

/** Every other row, keeping the last (the latest step must stay on the plot). */
function thinned(rows: SummaryRow[]): SummaryRow[] {
  return rows.filter((_, i) => i % 2 === 0 || i === rows.length - 1);
}

/**
 * TF's summary writer for the numbers that matter in a training curve: appends
 * `step,loss,learning_rate,examples_per_sec,wait_fraction` rows to `<dir>/summary.csv` and draws
 * them into `<dir>/loss.png` (loss, raw and smoothed, above the learning rate). A resumed run
 * appends to the same file: the header is written once, and rows past the step the run resumes from
 * (written after the checkpoint it restored) are dropped first, so the file reads as one run.
 */
export function summaryWriter(options: SummaryWriterOptions): SummaryWriterHook {
  const opts = objectOption(STAGE, 'options', options);
  const dir = directoryOption(STAGE, 'dir', opts.dir);
  const every = integerOption(STAGE, 'every', opts.every, { min: 1, defaultValue: 1 });
  const plot = booleanOption(STAGE, 'plot', opts.plot, true);
  const plotEveryRows = optionalIntegerOption(STAGE, 'plotEveryRows', opts.plotEveryRows, { min: 1 });
  const smoothing = opts.smoothing ?? 0.9;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing < 1)) {
    throw invalidArgument('smoothing', 'a number in [0, 1)', smoothing, STAGE);
  }
  const csv = join(dir, SUMMARY_CSV);
  const png = join(dir, SUMMARY_PNG);

  let rows: SummaryRow[] = [];
  let window = new StepWindow();
  let rowsSincePlot = 0;

  const drawPlot = async () => {
    rowsSincePlot = 0;
    if (rows.length > 0) await writeFileAtomic(png, await encodePng(summaryPlot(rows, smoothing)));
  };

  return {
    get rows() {
      return rows;
    },
    async begin(ctx) {
      await mkdir(dir, { recursive: true });
      const existing = await readSummary(csv);
      rows = existing.rows.filter((r) => r.step <= ctx.step);
      if (!existing.found) await writeFileAtomic(csv, `${SUMMARY_HEADER}\n`);
      else if (rows.length < existing.rows.length || existing.rewrite) {
        await writeFileAtomic(csv, [SUMMARY_HEADER, ...rows.map(formatRow)].join('\n').concat('\n'));
      }
      while (rows.length > MAX_PLOTTED_ROWS) rows = thinned(rows);
      window = new StepWindow();
      rowsSincePlot = 0;
    },
    async afterStep(info) {
      window.add(info);
      if (info.step % every !== 0) return;
      const stats = window.take()!;
      const row: SummaryRow = {
        step: info.step,
        loss: info.loss,
        examplesPerSecond: stats.examplesPerSecond,
        waitFraction: stats.inputBoundFraction,
      };
      if (info.learningRate !== undefined) row.learningRate = info.learningRate;
      await appendFile(csv, `${formatRow(row)}\n`);
      rows.push(row);
      if (rows.length > MAX_PLOTTED_ROWS) rows = thinned(rows);
      rowsSincePlot++;
      if (plot && plotEveryRows !== undefined && rowsSincePlot >= plotEveryRows) await drawPlot();
    },
    async end() {
      if (plot) await drawPlot();
    },
  };
}

/** The loss panel (raw and smoothed), above a learning-rate panel when any row has a rate. */
export function summaryPlot(rows: readonly SummaryRow[], smoothing = 0.9): Image<'uint8'> {
  const steps = rows.map((r) => r.step);
  const losses = rows.map((r) => r.loss);
  const lossSeries: LineSeries[] = [{ x: steps, y: losses, label: 'loss' }];
  if (smoothing > 0) lossSeries.push({ x: steps, y: smoothed(losses, smoothing), label: 'smoothed' });
  const panels = [linePlot(lossSeries, { width: 640, height: 320, title: 'loss' })];
  if (rows.some((r) => r.learningRate !== undefined)) {
    const rates = rows.map((r) => r.learningRate ?? Number.NaN);
    panels.push(linePlot([{ x: steps, y: rates, label: 'learning rate' }], { width: 640, height: 200 }));
  }
  const height = panels.reduce((h, p) => h + p.shape[0], 0);
  const data = new Uint8Array(640 * height * 3);
  let offset = 0;
  for (const p of panels) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { dtype: 'uint8', shape: [height, 640, 3], data };
}

/** Exponential moving average, skipping non-finite values (they stay gaps). */
function smoothed(values: readonly number[], weight: number): number[] {
  let ema: number | undefined;
  return values.map((v) => {
    if (!Number.isFinite(v)) return Number.NaN;
    ema = ema === undefined ? v : weight * ema + (1 - weight) * v;
    return ema;
  });
}

function formatRow(r: SummaryRow): string {
  return [
    r.step,
    r.loss,
    r.learningRate ?? '',
    Number(r.examplesPerSecond.toPrecision(6)),
    Number(r.waitFraction.toFixed(6)),
  ].join(',');
}

/**
 * The rows of an existing summary.csv. A last line without its newline is what a crash mid-append
 * leaves: it is dropped (and the file rewritten) when it does not parse.
 */
async function readSummary(file: string): Promise<{ found: boolean; rows: SummaryRow[]; rewrite: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { found: false, rows: [], rewrite: false };
    throw new NotFoundError(`${STAGE}: cannot read ${file}: ${(err as Error).message}`, {
      file,
      stage: STAGE,
      cause: err,
    });
  }
  if (text === '') return { found: true, rows: [], rewrite: true };
  const lines = text.split('\n');
  const complete = lines[lines.length - 1] === '';
  if (complete) lines.pop();
  if (lines[0] !== SUMMARY_HEADER) {
    throw new DecodeError(
      `${STAGE}: ${file} does not start with the header ${SUMMARY_HEADER}; move it away or pick another dir`,
      { file, stage: STAGE },
    );
  }
  const rows: SummaryRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const row = parseRow(lines[i]);
    if (row) rows.push(row);
    else if (i < lines.length - 1 || complete) {
      throw new DecodeError(
        `${STAGE}: ${file} line ${i + 1} is not a summary row: ${JSON.stringify(lines[i])}`,
        {
          file,
          stage: STAGE,
        },
      );
    }
  }
  return { found: true, rows, rewrite: !complete };
}

function parseRow(line: string): SummaryRow | undefined {
  const fields = line.split(',');
  if (fields.length !== 5) return undefined;
  const [step, loss, rate, speed, wait] = fields;
  const row: SummaryRow = {
    step: Number(step),
    loss: Number(loss),
    examplesPerSecond: Number(speed),
    waitFraction: Number(wait),
  };
  if (!/^\d+$/.test(step) || loss === '' || speed === '' || wait === '') return undefined;
  if ([row.examplesPerSecond, row.waitFraction].some((v) => !Number.isFinite(v))) return undefined;
  if (Number.isNaN(row.loss) && loss !== 'NaN') return undefined;
  if (rate !== '') {
    row.learningRate = Number(rate);
    if (Number.isNaN(row.learningRate) && rate !== 'NaN') return undefined;
  }
  return row;
}
