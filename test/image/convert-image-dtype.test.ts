import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import {
  convertImageDtype,
  float32ToUint8,
  floatView,
  imageFromFloats,
  UINT8_TO_FLOAT32,
} from '../../src/image/convert-image-dtype.js';
import { ALL_LEVELS, f32, u8, useTfCpu } from '../helpers/image.js';

useTfCpu();

describe('convertImageDtype uint8 → float32', () => {
  it('scales by float32(1/255), so 0 → 0 and 255 → exactly 1', () => {
    const out = convertImageDtype(u8([1, 3, 1], [0, 255, 51]), 'float32');
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([1, 3, 1]);
    expect(out.data[0]).toBe(0);
    expect(out.data[1]).toBe(1);
    // float32(1/255) = 0.0039215688593... is slightly above 1/255, so 51·it lands one float32 step
    // above float32(0.2) = 0.20000000298..., exactly as TF computes it.
    expect(out.data[2]).toBe(0.20000001788139343);
    expect(out.data[2]).toBeGreaterThan(Math.fround(0.2));
  });

  it('matches tfjs cast · scalar(1/255) bit for bit on every level', () => {
    const out = convertImageDtype(u8([16, 16, 1], ALL_LEVELS), 'float32');
    const expected = tf.tidy(() =>
      tf.mul(tf.cast(tf.tensor1d(ALL_LEVELS, 'int32'), 'float32'), tf.scalar(1 / 255)).dataSync(),
    );
    expect(Array.from(out.data)).toEqual(Array.from(expected));
  });

  it('keeps every level distinct and in [0, 1]', () => {
    const out = convertImageDtype(u8([1, 256, 1], ALL_LEVELS), 'float32').data;
    for (let x = 1; x < 256; x++) expect(out[x]).toBeGreaterThan(out[x - 1]);
    expect(out[0]).toBe(0);
    expect(out[255]).toBe(1);
  });
});

describe('convertImageDtype float32 → uint8', () => {
  it('truncates x·255.5 and clamps to [0, 255]', () => {
    const out = convertImageDtype(f32([1, 8, 1], [0, 0.5, 1, 1.5, -0.2, 0.999, 0.001, 0.004]), 'uint8');
    expect(out.dtype).toBe('uint8');
    // 0.5·255.5 = 127.75 → 127; 0.999·255.5 = 255.24 → 255; 0.001·255.5 = 0.26 → 0; 0.004·255.5 = 1.02 → 1.
    expect(Array.from(out.data)).toEqual([0, 127, 255, 255, 0, 255, 0, 1]);
  });

  it('maps NaN and infinities to 0, 0 and 255', () => {
    const out = convertImageDtype(f32([1, 3, 1], [Number.NaN, -Infinity, Infinity]), 'uint8');
    expect(Array.from(out.data)).toEqual([0, 0, 255]);
  });

  it('clamps whether or not saturate is set (deliberate difference from TF)', () => {
    const image = f32([1, 3, 1], [-5, 2, 300]);
    const saturated = convertImageDtype(image, 'uint8', { saturate: true });
    const unsaturated = convertImageDtype(image, 'uint8', { saturate: false });
    expect(Array.from(saturated.data)).toEqual([0, 255, 255]);
    expect(Array.from(unsaturated.data)).toEqual([0, 255, 255]);
  });

  it('gives every level back after uint8 → float32 → uint8', () => {
    const image = u8([1, 256, 1], ALL_LEVELS);
    const back = convertImageDtype(convertImageDtype(image, 'float32'), 'uint8');
    expect(Array.from(back.data)).toEqual(ALL_LEVELS);
  });

  it('is monotone and within one level of x·255 on [0, 1] (property)', () => {
    fc.assert(
      fc.property(
        fc.float({ min: 0, max: 1, noNaN: true }),
        fc.float({ min: 0, max: 1, noNaN: true }),
        (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const out = convertImageDtype(f32([1, 2, 1], [lo, hi]), 'uint8').data;
          expect(out[0]).toBeLessThanOrEqual(out[1]);
          expect(Math.abs(out[0] - lo * 255)).toBeLessThanOrEqual(1);
          expect(Math.abs(out[1] - hi * 255)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe('convertImageDtype to the same dtype', () => {
  it('returns an equal copy that does not share the data', () => {
    for (const image of [u8([1, 2, 2], [1, 2, 3, 250]), f32([2, 1, 2], [-1.5, 0.25, 300, 1e-9])]) {
      const out = convertImageDtype(image, image.dtype);
      expect(out.dtype).toBe(image.dtype);
      expect(out.shape).toEqual(image.shape);
      expect(Array.from(out.data)).toEqual(Array.from(image.data));
      expect(out.data).not.toBe(image.data);
      out.data[0] = 99;
      expect(image.data[0]).not.toBe(99);
    }
  });
});

describe('convertImageDtype edge cases', () => {
  it('handles 1x1 images, 4 channels and empty images', () => {
    expect(Array.from(convertImageDtype(u8([1, 1, 1], [255]), 'float32').data)).toEqual([1]);
    const rgba = convertImageDtype(f32([1, 1, 4], [0, 0.25, 0.75, 1]), 'uint8');
    expect(rgba.shape).toEqual([1, 1, 4]);
    expect(Array.from(rgba.data)).toEqual([0, 63, 191, 255]);
    const empty = convertImageDtype(u8([0, 3, 3], []), 'float32');
    expect(empty.shape).toEqual([0, 3, 3]);
    expect(empty.data).toBeInstanceOf(Float32Array);
    expect(empty.data.length).toBe(0);
  });

  it('never mutates its input', () => {
    const image = f32([1, 2, 1], [0.5, 2]);
    convertImageDtype(image, 'uint8');
    expect(Array.from(image.data)).toEqual([0.5, 2]);
  });
});

describe('convertImageDtype errors', () => {
  it('rejects a non-image', () => {
    expect(() =>
      convertImageDtype({ dtype: 'uint8', shape: [2, 2], data: new Uint8Array(4) }, 'float32'),
    ).toThrow(/convertImageDtype: Expected a uint8 or float32 image tensor .* for image/);
  });

  it('rejects an unsupported dtype', () => {
    const bad = () => convertImageDtype(u8([1, 1, 1], [0]), 'int32' as 'uint8');
    expect(bad).toThrow(InvalidArgumentError);
    expect(bad).toThrow(
      "convertImageDtype: Expected one of 'uint8', 'float32' for dtype but received \"int32\"",
    );
  });

  it('rejects a non-boolean saturate and a non-object options', () => {
    const image = u8([1, 1, 1], [0]);
    expect(() => convertImageDtype(image, 'float32', { saturate: 1 as unknown as boolean })).toThrow(
      'convertImageDtype: Expected a boolean for saturate but received 1',
    );
    expect(() => convertImageDtype(image, 'float32', 'yes' as unknown as object)).toThrow(
      /Expected an options object for options/,
    );
  });
});

describe('shared conversion helpers', () => {
  it('float32ToUint8 is the saturating TF rule, value by value', () => {
    expect(UINT8_TO_FLOAT32).toBe(Math.fround(1 / 255));
    expect([0, 0.5, 1, 2, -1, Number.NaN].map(float32ToUint8)).toEqual([0, 127, 255, 255, 0, 0]);
  });

  it('floatView reads float32 data in place and converts uint8 data', () => {
    const float = f32([1, 1, 1], [7]);
    expect(floatView(float)).toBe(float.data);
    expect(Array.from(floatView(u8([1, 2, 1], [0, 255])))).toEqual([0, 1]);
  });

  it('imageFromFloats wraps floats unclipped or converts to uint8 with saturation', () => {
    const values = Float32Array.from([-1, 0.5, 2]);
    const float = imageFromFloats('float32', [1, 3, 1], values);
    expect(Array.from(float.data)).toEqual([-1, 0.5, 2]);
    const bytes = imageFromFloats('uint8', [1, 3, 1], values);
    expect(Array.from(bytes.data)).toEqual([0, 127, 255]);
  });
});
