import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { encodeJpeg, encodePng } from '../../src/decode/encode-image.js';
import { rejection } from '../helpers/promises.js';
import { findJpegSegment, meanAbsDiff, photoLike, randomSamples } from './image-fixtures.js';

const H = 24;
const W = 40;

const u8 = (shape: number[], data: ArrayLike<number>): Tensor<'uint8'> => ({
  dtype: 'uint8',
  shape,
  data: Uint8Array.from(data),
});
const f32 = (shape: number[], data: ArrayLike<number>): Tensor<'float32'> => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from(data),
});

/** Decodes with sharp itself, keeping the stored channel count and depth. */
async function sharpDecode(bytes: Uint8Array, sixteenBit = false) {
  const stored = (await sharp(bytes).metadata()).channels!;
  // sharp's 8-bit 'b-w' output drops alpha, so gray+alpha comes back as RGBA and is narrowed here.
  const grayAlpha8 = stored === 2 && !sixteenBit;
  const colourspace =
    stored <= 2 && !grayAlpha8 ? (sixteenBit ? 'grey16' : 'b-w') : sixteenBit ? 'rgb16' : 'srgb';
  const { data, info } = await sharp(bytes)
    .toColourspace(colourspace)
    .raw({ depth: sixteenBit ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const samples = Array.from(
    sixteenBit ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data,
  );
  if (grayAlpha8) {
    return {
      samples: samples.filter((_, i) => i % 4 === 0 || i % 4 === 3),
      shape: [info.height, info.width, 2],
    };
  }
  return { samples, shape: [info.height, info.width, info.channels] };
}

describe('encodePng', () => {
  it('round-trips uint8 images with 1..4 channels exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(1, 2, 3, 4),
        fc.integer({ min: 0, max: 10_000 }),
        async (height, width, channels, seed) => {
          const data = randomSamples(height * width * channels, 255, seed);
          const png = await encodePng(u8([height, width, channels], data));
          expect(png.constructor).toBe(Uint8Array);
          expect(await sharpDecode(png)).toEqual({ samples: data, shape: [height, width, channels] });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes gray, gray+alpha, RGB and RGBA colour types', async () => {
    for (const [channels, colorType] of [
      [1, 0],
      [2, 4],
      [3, 2],
      [4, 6],
    ]) {
      const png = await encodePng(u8([2, 3, channels], photoLike(2, 3, channels)));
      expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
      expect([png[24], png[25]]).toEqual([8, colorType]);
    }
  });

  it('round-trips uint16 images as 16-bit PNGs', async () => {
    for (const channels of [1, 2, 3, 4]) {
      const data = randomSamples(H * W * channels, 65535, channels);
      const png = await encodePng({ dtype: 'uint16', shape: [H, W, channels], data: Uint16Array.from(data) });
      expect(png[24]).toBe(16);
      expect(await sharpDecode(png, true)).toEqual({ samples: data, shape: [H, W, channels] });
    }
  });

  it('encodes a view into a larger buffer without its neighbours', async () => {
    const backing = Uint8Array.from({ length: 40 }, (_, i) => i);
    const png = await encodePng({ dtype: 'uint8', shape: [2, 2, 3], data: backing.subarray(10, 22) });
    expect((await sharpDecode(png)).samples).toEqual(Array.from(backing.subarray(10, 22)));
  });

  it("float32 with rescale 'unit': TF convert_image_dtype(saturate) = trunc(clamp(x * 255.5))", async () => {
    const values = [0, 1, 0.5, 0.25, -1, 2, Number.NaN, 1 / 255, 0.999, Number.POSITIVE_INFINITY];
    const png = await encodePng(f32([1, values.length, 1], values), { rescale: 'unit' });
    expect((await sharpDecode(png)).samples).toEqual([0, 255, 127, 63, 0, 255, 0, 1, 255, 255]);
  });

  it("float32 with rescale 'minmax': min..max onto 0..255, rounded", async () => {
    const png = await encodePng(f32([1, 5, 1], [-2, -1, 0, 1, 2]), { rescale: 'minmax' });
    expect((await sharpDecode(png)).samples).toEqual([0, 64, 128, 191, 255]);
    const special = f32([1, 5, 1], [10, 20, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect((await sharpDecode(await encodePng(special, { rescale: 'minmax' }))).samples).toEqual([
      0, 255, 0, 255, 0,
    ]);
    const constant = f32([2, 2, 3], new Array(12).fill(0.7));
    expect((await sharpDecode(await encodePng(constant, { rescale: 'minmax' }))).samples).toEqual(
      new Array(12).fill(0),
    );
  });

  it('leaves its input untouched', async () => {
    const image = f32([2, 2, 1], [0.1, 0.2, 0.3, 5]);
    const copy = Float32Array.from(image.data);
    await encodePng(image, { rescale: 'minmax' });
    await encodePng(image, { rescale: 'unit' });
    expect(image.data).toEqual(copy);
  });
});

describe('encodeJpeg', () => {
  it('round-trips colour and gray images within JPEG error', async () => {
    for (const channels of [1, 3]) {
      const data = photoLike(H, W, channels);
      const jpeg = await encodeJpeg(u8([H, W, channels], data));
      expect(Array.from(jpeg.subarray(0, 3))).toEqual([0xff, 0xd8, 0xff]);
      const decoded = await sharpDecode(jpeg);
      expect(decoded.shape).toEqual([H, W, channels]);
      expect(meanAbsDiff(decoded.samples, data)).toBeLessThan(3);
    }
  });

  it('is baseline 4:2:0 like TF, with quality 95 by default', async () => {
    const image = u8([H, W, 3], photoLike(H, W, 3));
    const jpeg = await encodeJpeg(image);
    const sof = findJpegSegment(jpeg, 0xc0);
    expect(sof).toBeGreaterThan(0);
    expect(findJpegSegment(jpeg, 0xc2)).toBe(-1);
    // Luma sampling factors 2x2, chroma 1x1.
    expect([jpeg[sof + 11], jpeg[sof + 14], jpeg[sof + 17]]).toEqual([0x22, 0x11, 0x11]);
    expect(Buffer.compare(jpeg, await encodeJpeg(image, { quality: 95 }))).toBe(0);
    const small = await encodeJpeg(image, { quality: 10 });
    expect(small.length).toBeLessThan(jpeg.length);
  });

  it('encodes 1x1 and rescaled float32 images', async () => {
    const one = await sharpDecode(await encodeJpeg(u8([1, 1, 3], [200, 100, 50]), { quality: 100 }));
    expect(one.shape).toEqual([1, 1, 3]);
    const data = photoLike(H, W, 3);
    const unit = f32(
      [H, W, 3],
      Array.from(data, (v) => v / 255),
    );
    const decoded = await sharpDecode(await encodeJpeg(unit, { rescale: 'unit' }));
    expect(meanAbsDiff(decoded.samples, data)).toBeLessThan(3);
  });
});

describe('errors', () => {
  it('float32 needs an explicit rescale, and only float32 takes one', async () => {
    const float = f32([2, 2, 3], new Array(12).fill(0.5));
    for (const encode of [encodePng, encodeJpeg]) {
      const err = await rejection(encode(float));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toBe(
        `${encode.name}: Expected 'unit' (values in [0, 1]) or 'minmax' (min..max onto 0..255) to encode a float32 image for rescale but received undefined`,
      );
      expect(await rejection(encode(float, { rescale: 'clip' as never }))).toBeInstanceOf(
        InvalidArgumentError,
      );
      const onUint8 = await rejection(encode(u8([1, 1, 3], [1, 2, 3]), { rescale: 'unit' }));
      expect(onUint8.message).toBe(
        `${encode.name}: Expected undefined for a uint8 image (float32 only) for rescale but received "unit"`,
      );
    }
  });

  it('rejects shapes, dtypes and channel counts the format cannot hold', async () => {
    const cases: [Promise<unknown>, string][] = [
      [
        encodePng(u8([2, 2, 5], new Array(20).fill(0))),
        'encodePng: Expected a uint8 or uint16 (or float32 with rescale) tensor of shape [height, width, 1 | 2 | 3 | 4] for image but received "a uint8 tensor of shape [2, 2, 5]"',
      ],
      [
        encodeJpeg(u8([2, 2, 4], new Array(16).fill(0))),
        'encodeJpeg: Expected a uint8 (or float32 with rescale) tensor of shape [height, width, 1 | 3] for image but received "a uint8 tensor of shape [2, 2, 4]"',
      ],
      [
        encodeJpeg(u8([2, 2, 2], new Array(8).fill(0))),
        'encodeJpeg: Expected a uint8 (or float32 with rescale) tensor of shape [height, width, 1 | 3] for image but received "a uint8 tensor of shape [2, 2, 2]"',
      ],
      [
        encodeJpeg({ dtype: 'uint16', shape: [1, 1, 3], data: new Uint16Array(3) }),
        'encodeJpeg: Expected a uint8 (or float32 with rescale) tensor of shape [height, width, 1 | 3] for image but received "a uint16 tensor of shape [1, 1, 3]"',
      ],
      [
        encodePng({ dtype: 'int32', shape: [1, 1, 3], data: new Int32Array(3) }),
        'encodePng: Expected a uint8 or uint16 (or float32 with rescale) tensor of shape [height, width, 1 | 2 | 3 | 4] for image but received "a int32 tensor of shape [1, 1, 3]"',
      ],
      [encodePng(u8([4, 3], new Array(12).fill(0))), 'but received "a uint8 tensor of shape [4, 3]"'],
      [encodePng(u8([0, 3, 3], [])), 'but received "a uint8 tensor of shape [0, 3, 3]"'],
      [encodePng(u8([2, 2, 3], [1, 2, 3])), 'but received "a uint8 tensor of shape [2, 2, 3]"'],
      [encodePng(u8([1.5, 2, 1], [1, 2, 3])), 'but received "a uint8 tensor of shape [1.5, 2, 1]"'],
      [encodePng(new Uint8Array(12) as never), 'for image but received Uint8Array(12)'],
      [
        encodeJpeg(u8([1, 70000, 1], new Uint8Array(70000))),
        'encodeJpeg: Expected height and width <= 65500 (the JPEG limit) for image but received "shape [1, 70000, 1]"',
      ],
      [
        encodeJpeg(u8([1, 1, 3], [1, 2, 3]), { quality: 0 }),
        'encodeJpeg: Expected an integer in [1, 100] for quality but received 0',
      ],
      [
        encodeJpeg(u8([1, 1, 3], [1, 2, 3]), { quality: 95.5 }),
        'encodeJpeg: Expected an integer in [1, 100] for quality but received 95.5',
      ],
      [
        encodePng(u8([1, 1, 3], [1, 2, 3]), 'fast' as never),
        'encodePng: Expected an options object for options but received "fast"',
      ],
    ];
    for (const [promise, message] of cases) {
      const err = await rejection(promise);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain(message);
    }
  });
});
