import { invalidArgument } from '../core/errors.js';
import { integerOption, objectOption } from '../core/validate.js';
import type { Image } from '../image/image.js';
import { drawText, fitText, GLYPH_HEIGHT, textWidth } from '../inspect/bitmap-font.js';

/**
 * Line charts drawn by hand into an RGB image (for training curves, without a plotting library):
 * white background, axes with "nice" ticks (1, 2 or 5 times a power of ten) and light grid lines,
 * tick labels and a title in the built-in 5x7 font, one 1-pixel polyline per series. Non-finite
 * points (NaN, ±Infinity) are skipped and break the line; a point with no finite neighbour is drawn
 * as a 3x3 dot.
 */

export type Rgb = readonly [number, number, number];

export interface LineSeries {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Line colour (default: the next colour of `SERIES_COLORS`). */
  color?: Rgb;
  /** Shown in the legend, top right. */
  label?: string;
}

export interface LinePlotOptions {
  /** Image width in pixels (default 640, 96..4096). */
  width?: number;
  /** Image height in pixels (default 320, 64..4096). */
  height?: number;
  /** Drawn top left. */
  title?: string;
}

/** Where data lands in the image: the plot area (inclusive pixel bounds), the axis ranges and ticks. */
export interface PlotFrame {
  left: number;
  right: number;
  top: number;
  bottom: number;
  xRange: [number, number];
  yRange: [number, number];
  xTicks: number[];
  yTicks: number[];
  /** Pixel [column, row] of a data point (rounded; not clipped). */
  toPixel(x: number, y: number): [number, number];
}

/** Default series colours (matplotlib's first four). */
export const SERIES_COLORS: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
];
export const BACKGROUND: Rgb = [255, 255, 255];
export const AXIS_COLOR: Rgb = [0, 0, 0];
export const GRID_COLOR: Rgb = [228, 228, 228];

const STAGE = 'linePlot';
const TICK = 4;
const PAD = 6;

/** A line chart of the series as a uint8 RGB image [height, width, 3]. */
export function linePlot(series: readonly LineSeries[], options: LinePlotOptions = {}): Image<'uint8'> {
  const frame = plotFrame(series, options);
  const { width, height, title } = plotOptions(options);
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < rgba.length; p += 4) rgba.set([...BACKGROUND, 255], p);
  const canvas = { rgba, width, height };

  for (const t of frame.xTicks) {
    const [col] = frame.toPixel(t, frame.yRange[0]);
    line(canvas, col, frame.top, col, frame.bottom, GRID_COLOR, frame);
  }
  for (const t of frame.yTicks) {
    const [, row] = frame.toPixel(frame.xRange[0], t);
    line(canvas, frame.left, row, frame.right, row, GRID_COLOR, frame);
  }
  series.forEach((s, i) => {
    drawSeries(canvas, frame, s, s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]);
  });
  line(canvas, frame.left, frame.top, frame.left, frame.bottom, AXIS_COLOR);
  line(canvas, frame.left, frame.bottom, frame.right, frame.bottom, AXIS_COLOR);

  const text = (x: number, y: number, s: string, color: Rgb) =>
    drawText(rgba, width, x, y, s, [...color, 255], 1);
  const decimalsY = tickDecimals(frame.yTicks);
  for (const t of frame.yTicks) {
    const [, row] = frame.toPixel(frame.xRange[0], t);
    line(canvas, frame.left - TICK, row, frame.left - 1, row, AXIS_COLOR);
    const label = formatTick(t, decimalsY);
    text(frame.left - TICK - 3 - textWidth(label, 1), row - 3, label, AXIS_COLOR);
  }
  const decimalsX = tickDecimals(frame.xTicks);
  let lastLabelEnd = Number.NEGATIVE_INFINITY;
  for (const t of frame.xTicks) {
    const [col] = frame.toPixel(t, frame.yRange[0]);
    line(canvas, col, frame.bottom + 1, col, frame.bottom + TICK, AXIS_COLOR);
    const label = formatTick(t, decimalsX);
    const x = col - Math.floor(textWidth(label, 1) / 2);
    if (x <= lastLabelEnd + 4) continue; // crowded: skip this label rather than overlap
    text(x, frame.bottom + TICK + 3, label, AXIS_COLOR);
    lastLabelEnd = x + textWidth(label, 1);
  }

  // Title left, legend right, in the band above the plot.
  const titleY = Math.floor((frame.top - GLYPH_HEIGHT) / 2);
  const legend = series
    .map((s, i) => ({ label: s.label ?? '', color: s.color ?? SERIES_COLORS[i % SERIES_COLORS.length] }))
    .filter((l) => l.label !== '');
  let legendX = frame.right + 12;
  for (const l of [...legend].reverse()) legendX -= textWidth(l.label, 1) + 12;
  legendX = Math.max(legendX, frame.left);
  let x = legendX;
  for (const l of legend) {
    const label = fitText(l.label, 1, Math.max(0, frame.right - x + 1));
    text(x, titleY, label, l.color);
    x += textWidth(label, 1) + 12;
  }
  if (title) text(frame.left, titleY, fitText(title, 1, Math.max(0, legendX - frame.left - 4)), AXIS_COLOR);

  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    rgb[q] = rgba[p];
    rgb[q + 1] = rgba[p + 1];
    rgb[q + 2] = rgba[p + 2];
  }
  return { dtype: 'uint8', shape: [height, width, 3], data: rgb };
}

/** The layout `linePlot` uses for these series and options. */
export function plotFrame(series: readonly LineSeries[], options: LinePlotOptions = {}): PlotFrame {
  checkSeries(series);
  const { width, height } = plotOptions(options);
  let xMin = Number.POSITIVE_INFINITY;
  let xMax = Number.NEGATIVE_INFINITY;
  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i];
      const y = s.y[i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      xMin = Math.min(xMin, x);
      xMax = Math.max(xMax, x);
      yMin = Math.min(yMin, y);
      yMax = Math.max(yMax, y);
    }
  }
  if (xMin > xMax) [xMin, xMax, yMin, yMax] = [0, 1, 0, 1];
  const top = GLYPH_HEIGHT + 2 * PAD;
  const bottom = height - 1 - (TICK + 3 + GLYPH_HEIGHT + PAD);
  const y = niceTicks(...widen(yMin, yMax), Math.max(2, Math.min(8, Math.floor((bottom - top) / 40))));
  const decimalsY = tickDecimals(y.ticks);
  const labelWidth = Math.max(...y.ticks.map((t) => textWidth(formatTick(t, decimalsY), 1)));
  const left = PAD + labelWidth + 3 + TICK;
  const right = width - 1 - PAD * 3;
  if (right - left < 32 || bottom - top < 16) {
    throw invalidArgument(
      'width',
      'a plot area of at least 32 x 16 pixels after the labels',
      `${width} x ${height}`,
      STAGE,
    );
  }
  const x = niceTicks(...widen(xMin, xMax), Math.max(2, Math.min(10, Math.floor((right - left) / 70))));
  const [x0, x1] = x.range;
  const [y0, y1] = y.range;
  return {
    left,
    right,
    top,
    bottom,
    xRange: x.range,
    yRange: y.range,
    xTicks: x.ticks,
    yTicks: y.ticks,
    toPixel: (px, py) => [
      left + Math.round(((px - x0) / (x1 - x0)) * (right - left)),
      bottom - Math.round(((py - y0) / (y1 - y0)) * (bottom - top)),
    ],
  };
}

/**
 * Ticks at multiples of a nice step (1, 2 or 5 x 10^k) giving about `target` intervals, and the
 * range they span (which covers [min, max]).
 */
export function niceTicks(
  min: number,
  max: number,
  target: number,
): { range: [number, number]; ticks: number[] } {
  if (!(max - min > Math.max(Math.abs(min), Math.abs(max)) * 1e-12) || !Number.isFinite(max - min)) {
    return { range: [min, max], ticks: [min, max] }; // beyond what doubles can tick
  }
  const rough = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / magnitude;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  // Integer multiples of the step, rounded to its decimals (0.1 * 3 is 0.30000000000000004).
  for (let k = first; k <= last; k++)
    ticks.push(decimals <= 20 ? Number((k * step).toFixed(decimals)) : k * step);
  return { range: [ticks[0], ticks[ticks.length - 1]], ticks };
}

/** A tick label: fixed-point with the step's decimals, exponent form for very small or large values. */
export function formatTick(value: number, decimals: number): string {
  if (value === 0) return '0';
  if (decimals > 5 || Math.abs(value) >= 1e7) return Number(value.toPrecision(3)).toExponential();
  return value.toFixed(decimals);
}

/** Decimals needed to tell the ticks apart (those of their spacing). */
function tickDecimals(ticks: readonly number[]): number {
  if (ticks.length < 2) return 0;
  const step = Math.abs(ticks[1] - ticks[0]);
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/**
 * A range with room to tick: huge values are capped, and a single value (or a span too small for
 * doubles to tick) gets ±10% of itself (±1 around 0).
 */
function widen(min: number, max: number): [number, number] {
  min = Math.min(Math.max(min, -1e300), 1e300);
  max = Math.min(Math.max(max, -1e300), 1e300);
  const magnitude = Math.max(Math.abs(min), Math.abs(max));
  if (max - min > Math.max(magnitude * 1e-9, 1e-200)) return [min, max];
  const mid = (min + max) / 2;
  const pad = magnitude < 1e-200 ? 1 : magnitude * 0.1;
  return [mid - pad, mid + pad];
}

interface Canvas {
  rgba: Uint8Array;
  width: number;
  height: number;
}

interface Clip {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function drawSeries(canvas: Canvas, frame: PlotFrame, s: LineSeries, color: Rgb): void {
  let previous: [number, number] | undefined;
  let previousIsolated = false;
  const n = s.x.length;
  for (let i = 0; i < n; i++) {
    const finite = Number.isFinite(s.x[i]) && Number.isFinite(s.y[i]);
    if (!finite) {
      if (previous && previousIsolated) dot(canvas, previous, color, frame);
      previous = undefined;
      continue;
    }
    // Only values beyond the ±1e300 cap fall outside the axes; clamping keeps every segment short.
    const point = frame.toPixel(clamp(s.x[i], frame.xRange), clamp(s.y[i], frame.yRange));
    if (previous) line(canvas, previous[0], previous[1], point[0], point[1], color, frame);
    previousIsolated = previous === undefined;
    previous = point;
  }
  if (previous && previousIsolated) dot(canvas, previous, color, frame);
}

function clamp(v: number, [lo, hi]: [number, number]): number {
  return Math.min(Math.max(v, lo), hi);
}

function dot(canvas: Canvas, [c, r]: [number, number], color: Rgb, clip: Clip): void {
  for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) set(canvas, c + dc, r + dr, color, clip);
}

/** Bresenham's line, both ends included. */
function line(canvas: Canvas, c0: number, r0: number, c1: number, r1: number, color: Rgb, clip?: Clip): void {
  if (!Number.isFinite(c0 + r0 + c1 + r1)) return;
  const dc = Math.abs(c1 - c0);
  const dr = -Math.abs(r1 - r0);
  const sc = c0 < c1 ? 1 : -1;
  const sr = r0 < r1 ? 1 : -1;
  let err = dc + dr;
  for (;;) {
    set(canvas, c0, r0, color, clip);
    if (c0 === c1 && r0 === r1) return;
    const e2 = 2 * err;
    if (e2 >= dr) {
      err += dr;
      c0 += sc;
    }
    if (e2 <= dc) {
      err += dc;
      r0 += sr;
    }
  }
}

function set(canvas: Canvas, c: number, r: number, color: Rgb, clip?: Clip): void {
  if (clip && (c < clip.left || c > clip.right || r < clip.top || r > clip.bottom)) return;
  if (c < 0 || r < 0 || c >= canvas.width || r >= canvas.height) return;
  const p = (r * canvas.width + c) * 4;
  canvas.rgba[p] = color[0];
  canvas.rgba[p + 1] = color[1];
  canvas.rgba[p + 2] = color[2];
}

function plotOptions(options: unknown): { width: number; height: number; title?: string } {
  const opts = objectOption(STAGE, 'options', options);
  const width = integerOption(STAGE, 'width', opts.width, { min: 96, max: 4096, defaultValue: 640 });
  const height = integerOption(STAGE, 'height', opts.height, { min: 64, max: 4096, defaultValue: 320 });
  if (opts.title !== undefined && typeof opts.title !== 'string') {
    throw invalidArgument('title', 'a string', opts.title, STAGE);
  }
  return { width, height, title: opts.title as string | undefined };
}

function checkSeries(series: unknown): asserts series is readonly LineSeries[] {
  if (!Array.isArray(series)) throw invalidArgument('series', 'an array of { x, y } series', series, STAGE);
  series.forEach((s: Partial<LineSeries>, i) => {
    const name = `series[${i}]`;
    const isNumbers = (v: unknown): v is ArrayLike<number> =>
      (Array.isArray(v) && v.every((e) => typeof e === 'number')) ||
      (ArrayBuffer.isView(v) &&
        !(v instanceof DataView) &&
        !(v instanceof BigInt64Array) &&
        !(v instanceof BigUint64Array));
    if (typeof s !== 'object' || s === null || !isNumbers(s.x) || !isNumbers(s.y)) {
      throw invalidArgument(name, '{ x: number[], y: number[] }', s, STAGE);
    }
    if (s.x.length !== s.y.length) {
      throw invalidArgument(`${name}.y`, `${s.x.length} values (one per x)`, `${s.y.length} values`, STAGE);
    }
    const c = s.color;
    if (
      c !== undefined &&
      !(Array.isArray(c) && c.length === 3 && c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255))
    ) {
      throw invalidArgument(`${name}.color`, 'an [r, g, b] triple of integers 0..255', c, STAGE);
    }
    if (s.label !== undefined && typeof s.label !== 'string') {
      throw invalidArgument(`${name}.label`, 'a string', s.label, STAGE);
    }
  });
}
