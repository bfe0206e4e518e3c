import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Image } from '../../src/image/image.js';
import {
  AXIS_COLOR,
  BACKGROUND,
  formatTick,
  type LineSeries,
  linePlot,
  niceTicks,
  plotFrame,
  type Rgb,
  SERIES_COLORS,
} from '../../src/train/line-plot.js';
import { thrownBy } from '../helpers/files.js';

const RED: Rgb = [200, 0, 0];

function pixel(img: Image<'uint8'>, col: number, row: number): Rgb {
  const p = (row * img.shape[1] + col) * 3;
  return [img.data[p], img.data[p + 1], img.data[p + 2]];
}

/** Every [col, row] with exactly this colour. */
function pixelsOf(img: Image<'uint8'>, color: Rgb): [number, number][] {
  const out: [number, number][] = [];
  const [h, w] = img.shape;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const p = (r * w + c) * 3;
      if (img.data[p] === color[0] && img.data[p + 1] === color[1] && img.data[p + 2] === color[2])
        out.push([c, r]);
    }
  }
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('linePlot', () => {
  it('draws a uint8 RGB image of the requested size on a white background', () => {
    const img = linePlot([{ x: [0, 1], y: [0, 1] }]);
    expect(img.dtype).toBe('uint8');
    expect(img.shape).toEqual([320, 640, 3]);
    expect(pixel(img, 639, 319)).toEqual(BACKGROUND);
    const small = linePlot([{ x: [0, 1], y: [0, 1] }], { width: 200, height: 100 });
    expect(small.shape).toEqual([100, 200, 3]);
    expect(small.data).toHaveLength(200 * 100 * 3);
  });

  it('sets the pixels of a known line, continuously from end to end', () => {
    const series: LineSeries[] = [{ x: range(11), y: range(11).map((v) => v + 1), color: RED }];
    const frame = plotFrame(series);
    expect(frame.xRange).toEqual([0, 10]);
    expect(frame.yRange).toEqual([1, 11]);
    const img = linePlot(series);
    for (let v = 1; v <= 10; v++) {
      const [c, r] = frame.toPixel(v, v + 1);
      expect(pixel(img, c, r)).toEqual(RED);
    }
    expect(frame.toPixel(10, 11)).toEqual([frame.right, frame.top]);
    expect(frame.toPixel(0, 1)).toEqual([frame.left, frame.bottom]);
    // Every column of the plot area right of the axis holds the line, rising to the right (the
    // first columns' pixels may lie under the x axis).
    const red = pixelsOf(img, RED);
    let lastRow = Number.POSITIVE_INFINITY;
    for (let c = frame.left + 4; c <= frame.right; c++) {
      const rows = red.filter(([pc]) => pc === c).map(([, r]) => r);
      expect(rows.length).toBeGreaterThan(0);
      expect(Math.max(...rows)).toBeLessThanOrEqual(lastRow);
      lastRow = Math.min(...rows);
    }
  });

  it('draws the axes with ticks and labels', () => {
    const series: LineSeries[] = [{ x: [0, 100], y: [2, 3] }];
    const frame = plotFrame(series);
    const img = linePlot(series);
    for (let r = frame.top; r <= frame.bottom; r++) expect(pixel(img, frame.left, r)).toEqual(AXIS_COLOR);
    for (let c = frame.left; c <= frame.right; c++) expect(pixel(img, c, frame.bottom)).toEqual(AXIS_COLOR);
    expect(frame.yTicks.length).toBeGreaterThanOrEqual(3);
    for (const t of frame.yTicks) {
      const [, row] = frame.toPixel(0, t);
      expect(pixel(img, frame.left - 2, row)).toEqual(AXIS_COLOR); // tick mark
    }
    const black = pixelsOf(img, AXIS_COLOR);
    // Tick labels left of the y axis and below the x axis.
    expect(black.some(([c, r]) => c < frame.left - 5 && r >= frame.top && r <= frame.bottom)).toBe(true);
    expect(black.some(([c, r]) => r > frame.bottom + 5 && c >= frame.left)).toBe(true);
  });

  it('skips NaN and infinite points, breaking the line there', () => {
    const y = [0, 1, Number.NaN, 2, Number.POSITIVE_INFINITY, 4];
    const series: LineSeries[] = [{ x: range(6), y, color: RED }];
    const frame = plotFrame(series);
    const img = linePlot(series);
    const [c1] = frame.toPixel(1, 1);
    const [c3, r3] = frame.toPixel(3, 2);
    const red = pixelsOf(img, RED);
    // Nothing between the points on either side of the NaN, beyond the dot drawn for point 3.
    expect(red.filter(([c]) => c > c1 && c < c3 - 1)).toEqual([]);
    // Point 3 has no finite neighbour: a 3x3 dot.
    for (const [dc, dr] of [
      [-1, -1],
      [0, 0],
      [1, 1],
    ]) {
      expect(pixel(img, c3 + dc, r3 + dr)).toEqual(RED);
    }
    expect(frame.yRange[1]).toBeLessThan(10); // Infinity did not stretch the axis
  });

  it('draws a single point as a dot inside the axes', () => {
    const series: LineSeries[] = [{ x: [5], y: [2], color: RED }];
    const frame = plotFrame(series);
    expect(frame.xRange[0]).toBeLessThan(5);
    expect(frame.xRange[1]).toBeGreaterThan(5);
    expect(frame.yRange[0]).toBeLessThan(2);
    expect(frame.yRange[1]).toBeGreaterThan(2);
    const img = linePlot(series);
    const [c, r] = frame.toPixel(5, 2);
    expect(pixelsOf(img, RED).sort()).toEqual(
      [
        [c - 1, r - 1],
        [c, r - 1],
        [c + 1, r - 1],
        [c - 1, r],
        [c, r],
        [c + 1, r],
        [c - 1, r + 1],
        [c, r + 1],
        [c + 1, r + 1],
      ].sort(),
    );
  });

  it('draws a constant series as one horizontal line inside the axes', () => {
    for (const value of [3, 0, -0.5]) {
      const series: LineSeries[] = [{ x: range(20), y: Array(20).fill(value), color: RED }];
      const frame = plotFrame(series);
      expect(frame.yRange[0]).toBeLessThan(value);
      expect(frame.yRange[1]).toBeGreaterThan(value);
      const red = pixelsOf(linePlot(series), RED);
      const rows = new Set(red.map(([, r]) => r));
      expect([...rows]).toEqual([frame.toPixel(0, value)[1]]);
      const [first] = frame.toPixel(0, value);
      const [last] = frame.toPixel(19, value);
      // Every column from the first point to the last, but the one under the y axis.
      expect(red.map(([c]) => c).sort((a, b) => a - b)).toEqual(
        range(last - first).map((i) => first + 1 + i),
      );
    }
  });

  it('draws axes only for no data, or only non-finite data', () => {
    for (const series of [[], [{ x: [], y: [] }], [{ x: [1, 2], y: [Number.NaN, Number.NaN], color: RED }]]) {
      const img = linePlot(series as LineSeries[]);
      expect(pixelsOf(img, RED)).toEqual([]);
      const frame = plotFrame(series as LineSeries[]);
      expect(pixel(img, frame.left, frame.top)).toEqual(AXIS_COLOR);
    }
  });

  it('gives series the default colours in order and shows labels and the title above the plot', () => {
    const series: LineSeries[] = [
      { x: [0, 1], y: [0, 1], label: 'loss' },
      { x: [0, 1], y: [1, 0], label: 'smoothed' },
    ];
    const frame = plotFrame(series);
    const img = linePlot(series, { title: 'TRAINING' });
    for (const color of SERIES_COLORS.slice(0, 2)) {
      const pixels = pixelsOf(img, color);
      expect(pixels.some(([, r]) => r > frame.top)).toBe(true); // the line
      expect(pixels.some(([, r]) => r < frame.top)).toBe(true); // the legend
    }
    const title = pixelsOf(img, AXIS_COLOR).filter(([c, r]) => r < frame.top && c < frame.left + 60);
    expect(title.length).toBeGreaterThan(20);
    const untitled = pixelsOf(linePlot(series), AXIS_COLOR).filter(
      ([c, r]) => r < frame.top && c >= frame.left,
    );
    expect(untitled).toEqual([]);
  });

  it('property: series pixels stay inside the plot area, and every finite point off the axes is drawn', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(Number.NaN)), {
          minLength: 1,
          maxLength: 40,
        }),
        (ys) => {
          const series: LineSeries[] = [{ x: range(ys.length), y: ys, color: RED }];
          const frame = plotFrame(series, { width: 240, height: 120 });
          const img = linePlot(series, { width: 240, height: 120 });
          for (const [c, r] of pixelsOf(img, RED)) {
            expect(c).toBeGreaterThanOrEqual(frame.left);
            expect(c).toBeLessThanOrEqual(frame.right);
            expect(r).toBeGreaterThanOrEqual(frame.top);
            expect(r).toBeLessThanOrEqual(frame.bottom);
          }
          ys.forEach((y, i) => {
            if (Number.isNaN(y)) return;
            const [c, r] = frame.toPixel(i, y);
            if (c === frame.left || r === frame.bottom) return; // under the axis
            expect(pixel(img, c, r)).toEqual(RED);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects bad series and options', () => {
    const ok: LineSeries[] = [{ x: [0], y: [0] }];
    const cases: [() => unknown, RegExp][] = [
      [() => linePlot('loss' as never), /Expected an array of \{ x, y \} series for series/],
      [() => linePlot([{ x: [0] }] as never), /Expected \{ x: number\[\], y: number\[\] \} for series\[0\]/],
      [() => linePlot([{ x: ['a'], y: [1] }] as never), /for series\[0\]/],
      [
        () => linePlot([{ x: [0, 1], y: [0] }]),
        /Expected 2 values \(one per x\) for series\[0\]\.y but received "1 values"/,
      ],
      [
        () => linePlot([{ x: [0], y: [0], color: [0, 0, 256] }]),
        /Expected an \[r, g, b\] triple of integers 0\.\.255 for series\[0\]\.color/,
      ],
      [() => linePlot([{ x: [0], y: [0], label: 3 }] as never), /Expected a string for series\[0\]\.label/],
      [() => linePlot(ok, { width: 50 }), /Expected an integer in \[96, 4096\] for width but received 50/],
      [() => linePlot(ok, { height: 5000 }), /for height but received 5000/],
      [() => linePlot(ok, { title: 5 } as never), /Expected a string for title/],
      [() => linePlot(ok, 'big' as never), /Expected an options object for options/],
      [
        () => linePlot([{ x: [0, 1], y: [1e-9, 1.23456e-9] }], { width: 96 }),
        /Expected a plot area of at least 32 x 16 pixels after the labels for width but received "96 x 320"/,
      ],
    ];
    for (const [action, message] of cases) {
      const err = thrownBy(action);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^linePlot: /);
      expect(err.message).toMatch(message);
    }
  });
});

describe('niceTicks and formatTick', () => {
  it('picks 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 10, 5)).toEqual({ range: [0, 10], ticks: [0, 2, 4, 6, 8, 10] });
    expect(niceTicks(0.013, 0.1, 4)).toEqual({ range: [0, 0.1], ticks: [0, 0.02, 0.04, 0.06, 0.08, 0.1] });
    expect(niceTicks(1, 1000, 5).ticks).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(-3, 7, 2).ticks).toEqual([-5, 0, 5, 10]);
  });

  it('property: ticks cover the range, evenly spaced, about `target` of them', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
        fc.integer({ min: 2, max: 10 }),
        (min, spanDrawn, target) => {
          // Spans that doubles can resolve around min (plotFrame widens narrower ones first).
          const span = Math.max(spanDrawn, Math.abs(min) * 1e-8);
          const max = min + span;
          const { range, ticks } = niceTicks(min, max, target);
          expect(range[0]).toBeLessThanOrEqual(min + span * 1e-6);
          expect(range[1]).toBeGreaterThanOrEqual(max - span * 1e-6);
          expect(ticks.length - 1).toBeGreaterThanOrEqual(Math.floor(target / 2.5));
          expect(ticks.length - 1).toBeLessThanOrEqual(Math.ceil(target * 1.5) + 2);
          const step = ticks[1] - ticks[0];
          // Differences of large ticks carry their rounding error.
          const tolerance = (Number.EPSILON * 4 * Math.max(...ticks.map(Math.abs))) / step + 1e-9;
          const nice = [1, 2, 5].some((m) => {
            const k = Math.round(Math.log10(step / m));
            return Math.abs(step / (m * 10 ** k) - 1) <= tolerance;
          });
          expect(nice).toBe(true);
          for (let i = 1; i < ticks.length; i++) {
            expect(Math.abs(ticks[i] - ticks[i - 1] - step)).toBeLessThanOrEqual(step * tolerance);
          }
        },
      ),
    );
  });

  it('formats with the step decimals, exponents for tiny or huge values', () => {
    expect(formatTick(0.30000000000000004, 1)).toBe('0.3');
    expect(formatTick(1500, 0)).toBe('1500');
    expect(formatTick(0, 3)).toBe('0');
    expect(formatTick(2e-7, 7)).toBe('2e-7');
    expect(formatTick(1.5e9, 0)).toBe('1.5e+9');
  });
});

describe('linePlot: extreme values', () => {
  it('draws values beyond ±1e300 at the edge, and tiny spans, without hanging', () => {
    const huge = linePlot([{ x: [0, 1, 2], y: [1, Number.MAX_VALUE, -Number.MAX_VALUE], color: RED }]);
    expect(pixelsOf(huge, RED).length).toBeGreaterThan(100);
    const tinySpan: LineSeries[] = [{ x: [0, 1], y: [1, 1 + 1e-15], color: RED }];
    const frame = plotFrame(tinySpan);
    expect(frame.yRange[0]).toBeLessThan(1);
    expect(frame.yRange[1]).toBeGreaterThan(1);
    expect(pixelsOf(linePlot(tinySpan), RED).length).toBeGreaterThan(100);
    const subnormal = linePlot([{ x: [0, 1], y: [9.6e-253, -4.7e-187], color: RED }]);
    expect(pixelsOf(subnormal, RED).length).toBeGreaterThan(100);
  });
});
