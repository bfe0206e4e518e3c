import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import type { Image } from '../../src/image/image.js';
import { type RandomZoomOptions, randomZoom, zoom } from '../../src/image/random-zoom.js';
import { resizeBilinear } from '../../src/image/resize-bilinear.js';
import {
  expectReproducible,
  expectRngRejected,
  expectUntouched,
  fillRangeProperty,
  fixedUniforms,
  randomImage,
  sides,
} from '../helpers/image.js';

/** Channel 0 holds x, channel 1 holds y: bilinear sampling of it returns the sampled coordinates. */
function coordinateImage(h: number, w: number): Image<'float32'> {
  const data = new Float32Array(h * w * 2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data[(y * w + x) * 2] = x;
      data[(y * w + x) * 2 + 1] = y;
    }
  }
  return { dtype: 'float32', shape: [h, w, 2], data };
}

describe('zoom geometry', () => {
  it('scale 1 is the identity (both dtypes)', () => {
    for (const dtype of ['uint8', 'float32'] as const) {
      const image = randomImage(dtype, 7, 4, 3, 1);
      const out = zoom(image, 1);
      expect(out.dtype).toBe(dtype);
      expect(out.data).toEqual(image.data);
      expect(zoom(image, [1, 1]).data).toEqual(image.data);
    }
  });

  it('output (x, y) reads (cx + (x − cx)/scaleX, cy + (y − cy)/scaleY), or the fill outside', () => {
    fc.assert(
      fc.property(
        sides(12),
        fc.double({ min: 0.25, max: 4, noNaN: true }),
        fc.double({ min: 0.25, max: 4, noNaN: true }),
        ([h, w], sy, sx) => {
          const out = zoom(coordinateImage(h, w), [sy, sx], { fillValue: -100 });
          const cx = (w - 1) / 2;
          const cy = (h - 1) / 2;
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const px = cx + (x - cx) / sx;
              const py = cy + (y - cy) / sy;
              const inside = px >= -0.5 && px < w - 0.5 && py >= -0.5 && py < h - 0.5;
              const i = (y * w + x) * 2;
              if (!inside) {
                expect([out.data[i], out.data[i + 1]]).toEqual([-100, -100]);
              } else {
                expect(out.data[i]).toBeCloseTo(Math.min(Math.max(px, 0), w - 1), 4);
                expect(out.data[i + 1]).toBeCloseTo(Math.min(Math.max(py, 0), h - 1), 4);
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('zooming out by 0.5 shrinks an 8x8 image into the central 4x4 and pads with the fill', () => {
    const image: Image<'uint8'> = { dtype: 'uint8', shape: [8, 8, 1], data: new Uint8Array(64).fill(200) };
    const out = zoom(image, 0.5, { fillValue: 9 });
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const central = y >= 2 && y < 6 && x >= 2 && x < 6;
        expect(out.data[y * 8 + x]).toBe(central ? 200 : 9);
      }
    }
  });

  it('zooming in by 2 equals a half-pixel-centre resize of the central crop, away from the crop edge', () => {
    const image = randomImage('float32', 8, 8, 3, 6);
    const out = zoom(image, 2);
    // The central 4x4 crop (rows and columns 2..5), cut by index arithmetic.
    const crop = new Float32Array(4 * 4 * 3);
    for (let y = 0; y < 4; y++)
      crop.set(image.data.subarray(((y + 2) * 8 + 2) * 3, ((y + 2) * 8 + 6) * 3), y * 12);
    const resized = resizeBilinear({ dtype: 'float32', shape: [4, 4, 3], data: crop }, [8, 8], {
      halfPixelCenters: true,
    });
    // Output index d samples crop coordinate d/2 − 0.25 in both; for d in 1..6 that is within [0, 3], where
    // the resize does not clamp to the crop (at d = 0 and 7 the zoom reads the real neighbours instead).
    for (let y = 1; y <= 6; y++) {
      for (let x = 1; x <= 6; x++) {
        for (let c = 0; c < 3; c++) {
          const i = (y * 8 + x) * 3 + c;
          expect(out.data[i]).toBeCloseTo(resized.data[i], 5);
        }
      }
    }
  });

  it('uint8 results round to nearest; float input gives float32', () => {
    // One row [0, 101, 0] zoomed by 1.6 across: output x = 0 reads 1 − 1/1.6 = 0.375, i.e. 101·0.375 = 37.875.
    const u: Image<'uint8'> = { dtype: 'uint8', shape: [1, 3, 1], data: Uint8Array.of(0, 101, 0) };
    expect(zoom(u, [1, 1.6]).data[0]).toBe(38); // truncation would give 37
    const f: Image<'float32'> = { dtype: 'float32', shape: [1, 3, 1], data: Float32Array.of(0, 101, 0) };
    const out = zoom(f, [1, 1.6]);
    expect(out.dtype).toBe('float32');
    expect(out.data[0]).toBeCloseTo(37.875, 4);
  });

  it('does not mutate its input', () => {
    expectUntouched(randomImage('uint8', 5, 5, 3, 2), (image) => zoom(image, 0.7));
  });
});

describe('zoom properties', () => {
  it('keeps shape and dtype; outputs are finite and within [min(input, fill), max(input, fill)]', () => {
    const scale = fc.double({ min: 0.1, max: 10, noNaN: true });
    const scales = fc.tuple(scale, scale);
    fc.assert(
      fillRangeProperty(scales, (image, fillValue, yx) => zoom(image, yx, { fillValue })),
      { numRuns: 150 },
    );
  });

  it('zooming in keeps a constant image exactly constant', () => {
    fc.assert(
      fc.property(
        sides(10),
        fc.double({ min: 1, max: 8, noNaN: true }),
        fc.integer({ min: 0, max: 255 }),
        ([h, w], s, value) => {
          const data = new Uint8Array(h * w * 3).fill(value);
          const out = zoom({ dtype: 'uint8', shape: [h, w, 3], data }, s, { fillValue: 255 - value });
          expect(out.data.every((v) => v === value)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('randomZoom', () => {
  // A 9x9 coordinate image: output (cx + 1, cy) reads x = 4 + 1/scaleX, output (cx, cy + 1) reads
  // y = 4 + 1/scaleY, both inside for scales down to 0.25; that measures the scales drawn.
  const probe = coordinateImage(9, 9);
  function recoveredScales(out: Image): [number, number] {
    return [1 / (out.data[(5 * 9 + 4) * 2 + 1] - 4), 1 / (out.data[(4 * 9 + 5) * 2] - 4)];
  }

  it('maps u to minScale + (maxScale − minScale)·u in float32; one draw for both axes', () => {
    const f = Math.fround;
    for (const u of [0, 0.5, 1 - 2 ** -24]) {
      const scale = f(f(0.5) + f(f(f(2) - f(0.5)) * u));
      expect(randomZoom(probe, [0.5, 2], fixedUniforms(u)).data).toEqual(zoom(probe, scale).data);
    }
  });

  it('with independent: true draws height then width', () => {
    const out = randomZoom(probe, [0.5, 2], fixedUniforms(0, 0.5), { independent: true });
    expect(out.data).toEqual(zoom(probe, [0.5, 1.25]).data);
  });

  it('[1, 1] is the identity', () => {
    const image = randomImage('uint8', 6, 5, 3, 3);
    expect(randomZoom(image, [1, 1], new CounterRng(5, 'test')).data).toEqual(image.data);
  });

  it('is deterministic for the same rng stream', () => {
    const image = randomImage('float32', 6, 6, 1, 4);
    expectReproducible(77, (rng) =>
      randomZoom(image, [0.6, 1.6], rng, { independent: true, fillValue: 0.5 }),
    );
  });

  it('draws scales uniformly in [minScale, maxScale): shared, or independent per axis', () => {
    const rng = new CounterRng(31, 'test');
    const [lo, hi] = [0.5, 2];
    const n = 1500;
    for (const independent of [false, true]) {
      const bins = [0, 0, 0, 0];
      let sum = 0;
      let equal = 0;
      for (let i = 0; i < n; i++) {
        const [sy, sx] = recoveredScales(randomZoom(probe, [lo, hi], rng, { independent }));
        for (const s of [sy, sx]) {
          expect(s).toBeGreaterThanOrEqual(lo - 1e-4);
          expect(s).toBeLessThanOrEqual(hi + 1e-4);
        }
        if (Math.abs(sy - sx) < 1e-6) equal++;
        sum += sy;
        bins[Math.min(3, Math.floor(((sy - lo) / (hi - lo)) * 4))]++;
      }
      // Mean 1.25, sd 0.43/√1500 ≈ 0.011; each quarter ~ 375 ± 17.
      expect(Math.abs(sum / n - (lo + hi) / 2)).toBeLessThan(0.06);
      for (const b of bins) expect(Math.abs(b - n / 4)).toBeLessThan(100);
      if (independent) expect(equal).toBeLessThan(15);
      else expect(equal).toBe(n);
    }
  });
});

describe('zoom and randomZoom errors', () => {
  const f = randomImage('float32', 4, 4, 1, 1);
  const u = randomImage('uint8', 4, 4, 1, 1);
  const rng = () => new CounterRng(1, 'test');

  it.each([
    ['min > max', [2, 1]],
    ['zero', [0, 1]],
    ['negative', [-0.5, 1]],
    ['NaN', [Number.NaN, 1]],
    ['infinite', [1, Number.POSITIVE_INFINITY]],
    ['one entry', [1]],
    ['three entries', [1, 2, 3]],
    ['not an array', 1.5],
  ])('randomZoom rejects a scale range that is %s', (name, range) => {
    const call = () => randomZoom(f, range as unknown as [number, number], rng());
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(
      name === 'min > max'
        ? 'randomZoom: Expected minScale <= maxScale for scaleRange but received [2,1]'
        : /^randomZoom: Expected an array \[minScale, maxScale\] of positive finite numbers for scaleRange/,
    );
  });

  it.each([[0], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], [[1, 0]], [[1]], [[1, 2, 3]], ['2']])(
    'zoom rejects scale %j',
    (scale) => {
      expect(() => zoom(f, scale as unknown as number)).toThrow(
        /^zoom: Expected a positive finite number or \[scaleY, scaleX\] of them for scale/,
      );
    },
  );

  it('rejects a non-boolean independent, bad fill values and non-object options', () => {
    expect(() => randomZoom(f, [1, 2], rng(), { independent: 1 as unknown as boolean })).toThrow(
      'randomZoom: Expected a boolean for independent but received 1',
    );
    expect(() => randomZoom(u, [1, 2], rng(), { fillValue: 300 })).toThrow(
      /^randomZoom: Expected an integer in \[0, 255\] for fillValue/,
    );
    expect(() => zoom(u, 2, { fillValue: 0.5 })).toThrow(
      /^zoom: Expected an integer in \[0, 255\] for fillValue/,
    );
    expect(() => zoom(f, 2, { fillValue: 'x' as unknown as number })).toThrow(
      'zoom: Expected a number for fillValue but received "x"',
    );
    expect(() => randomZoom(f, [1, 2], rng(), 5 as unknown as RandomZoomOptions)).toThrow(
      /Expected an options object/,
    );
  });

  it('rejects a non-image', () => {
    expect(() =>
      zoom({ dtype: 'uint8', shape: [4, 4], data: new Uint8Array(16) } as unknown as Image, 2),
    ).toThrow(/^zoom: Expected a uint8 or float32 image tensor/);
    expect(() => randomZoom(null as unknown as Image, [1, 2], rng())).toThrow(/^randomZoom: Expected/);
  });

  it('rejects an rng that is not a Random, before drawing', () => {
    expectRngRejected('randomZoom', (rng) => randomZoom(f, [1, 2], rng));
  });
});
