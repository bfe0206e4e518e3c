import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InvalidArgumentError } from '../../src/core/errors.js';
import { decodeImage } from '../../src/decode/decode-image.js';
import { decodeJpeg } from '../../src/decode/decode-jpeg.js';
import { decodePng } from '../../src/decode/decode-png.js';
import { configureSharpForStreaming } from '../../src/decode/sharp-config.js';
import { describeBytes, readJpegHeader, readPngHeader, sniffFormat } from '../../src/decode/sniff-format.js';
import { rejection } from '../helpers/promises.js';
import {
  findJpegSegment,
  makePng,
  maxAbsDiff,
  meanAbsDiff,
  photoLike,
  pngBomb,
  pngChunk,
  randomSamples,
  rawSharp,
  sharpJpeg,
  sharpPng,
  withJpegDimensions,
  withoutJpegSegment,
} from './image-fixtures.js';

const H = 24;
const W = 40;

/** libpng's rgb_to_gray with TF's (0.299, 0.587), written from libpng's definition. */
const RC = Math.floor((29900 * 32768) / 100000);
const GC = Math.floor((58700 * 32768) / 100000);
const BC = 32768 - RC - GC;
const pngGray8 = (r: number, g: number, b: number) =>
  r === g && r === b ? r : Math.floor((RC * r + GC * g + BC * b) / 32768);
const pngGray16 = (r: number, g: number, b: number) => Math.floor((RC * r + GC * g + BC * b + 16384) / 32768);

/** TF's decode_png channel rules, pixel by pixel (the model the property tests check against). */
function tfPngModel(samples: ArrayLike<number>, from: number, to: number, sixteenBit: boolean): number[] {
  const out: number[] = [];
  const opaque = sixteenBit ? 65535 : 255;
  for (let s = 0; s < samples.length; s += from) {
    const [r, g, b] =
      from >= 3 ? [samples[s], samples[s + 1], samples[s + 2]] : [samples[s], samples[s], samples[s]];
    const a = from === 2 || from === 4 ? samples[s + from - 1] : opaque;
    if (to >= 3) out.push(r, g, b);
    else out.push(from >= 3 ? (sixteenBit ? pngGray16 : pngGray8)(r, g, b) : r);
    if (to === 2 || to === 4) out.push(a);
  }
  return out;
}

// Runs first: the decoders configure sharp once, lazily.
describe('sharp configuration', () => {
  it('the first decode turns the cache off and sets concurrency 1', async () => {
    sharp.concurrency(2);
    expect(sharp.cache().memory.max).toBeGreaterThan(0);
    await decodePng(await sharpPng(photoLike(2, 2, 3), 2, 2, 3));
    expect(sharp.cache().memory.max).toBe(0);
    expect(sharp.cache().items.max).toBe(0);
    expect(sharp.concurrency()).toBe(1);
  });

  it('an explicit configuration is kept by later decodes', async () => {
    expect(configureSharpForStreaming({ concurrency: 2, cache: true })).toEqual({
      concurrency: 2,
      cache: true,
    });
    expect(sharp.cache().items.max).toBeGreaterThan(0);
    await decodePng(await sharpPng(photoLike(2, 2, 3), 2, 2, 3));
    expect(sharp.concurrency()).toBe(2);
    expect(configureSharpForStreaming()).toEqual({ concurrency: 1, cache: false });
    expect(sharp.cache().memory.max).toBe(0);
  });

  it('rejects bad settings', () => {
    for (const bad of [{ concurrency: 0 }, { concurrency: 1.5 }, { concurrency: '2' }, { cache: 'no' }]) {
      expect(() => configureSharpForStreaming(bad as never)).toThrow(InvalidArgumentError);
    }
    expect(() => configureSharpForStreaming(null as never)).toThrow(/options/);
    expect(() => configureSharpForStreaming({ concurrency: 0 })).toThrow(
      'configureSharpForStreaming: Expected an integer in [1, 1024] for concurrency but received 0',
    );
  });
});

describe('sniffFormat and describeBytes', () => {
  const bytes = (...parts: (number[] | string)[]) =>
    Uint8Array.from(
      parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)),
    );

  it('recognises formats by their magic bytes', () => {
    expect(sniffFormat(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(bytes([0x89], 'PNG', [13, 10, 26, 10]))).toBe('png');
    expect(sniffFormat(bytes('GIF89a'))).toBe('gif');
    expect(sniffFormat(bytes('BM', [0, 0]))).toBe('bmp');
    expect(sniffFormat(bytes('RIFF', [0, 0, 0, 0], 'WEBP'))).toBe('webp');
    expect(sniffFormat(bytes('II', [42, 0]))).toBe('tiff');
    expect(sniffFormat(bytes('MM', [0, 42]))).toBe('tiff');
    expect(sniffFormat(bytes([0, 0, 0, 24], 'ftypavif'))).toBe('heif');
  });

  it('recognises nothing in short, empty or unknown bytes', () => {
    expect(sniffFormat(bytes([0xff, 0xd8]))).toBeUndefined();
    expect(sniffFormat(bytes('RIFF', [0, 0, 0, 0], 'WAVE'))).toBeUndefined();
    expect(sniffFormat(new Uint8Array(0))).toBeUndefined();
    expect(sniffFormat(bytes('hello'))).toBeUndefined();
  });

  it('describes what the bytes look like', () => {
    expect(describeBytes(new Uint8Array(0))).toBe('empty bytes (0 bytes)');
    expect(describeBytes(bytes('GIF89a'))).toBe('GIF image bytes (6 bytes)');
    expect(describeBytes(bytes('x'))).toBe('text (1 byte) starting "x"');
    expect(describeBytes(bytes('col1,col2\nhello,world, a long line of text here'))).toBe(
      'text (47 bytes) starting "col1,col2 hello,world, a long li..."',
    );
    expect(describeBytes(bytes([0, 1, 2, 0xab, 4, 5, 6, 7, 8, 9]))).toBe(
      '10 bytes in no recognised image format, starting 00 01 02 AB 04 05 06 07',
    );
    expect(describeBytes(bytes([0xc3, 0x28, 0x41]))).toMatch(/no recognised image format/);
  });
});

describe('readJpegHeader and readPngHeader', () => {
  it('reads dimensions and components of gray, colour, CMYK and progressive JPEGs', async () => {
    const rgb = photoLike(H, W, 3);
    const plain = { height: H, width: W, adobe: false, arithmetic: false };
    expect(readJpegHeader(await sharpJpeg(rgb, H, W, 3))).toEqual({ ...plain, components: 3 });
    expect(readJpegHeader(await sharpJpeg(photoLike(H, W, 1), H, W, 1))).toEqual({ ...plain, components: 1 });
    const progressive = await sharpJpeg(rgb, H, W, 3, { progressive: true });
    expect(findJpegSegment(progressive, 0xc2)).toBeGreaterThan(0);
    expect(readJpegHeader(progressive)).toEqual({ ...plain, components: 3 });
    const cmyk = new Uint8Array(await rawSharp(rgb, H, W, 3).toColourspace('cmyk').jpeg().toBuffer());
    expect(readJpegHeader(cmyk)).toEqual({ ...plain, components: 4, adobe: true });
    expect(readJpegHeader(withoutJpegSegment(cmyk, 0xee))).toEqual({ ...plain, components: 4 });
  });

  it('skips fill bytes and garbage between segments, as libjpeg does', async () => {
    const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
    const at = findJpegSegment(jpeg, 0xdb);
    const padded = Uint8Array.from([...jpeg.subarray(0, at), 0x00, 0x12, 0xff, 0xff, ...jpeg.subarray(at)]);
    expect(readJpegHeader(padded)).toEqual({
      height: H,
      width: W,
      components: 3,
      adobe: false,
      arithmetic: false,
    });
    const restartMarker = Uint8Array.from([0xff, 0xd8, 0xff, 0xd0, ...jpeg.subarray(2)]);
    expect(readJpegHeader(restartMarker)?.width).toBe(W);
  });

  it('returns undefined without a frame header', async () => {
    const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
    expect(readJpegHeader(jpeg.subarray(0, findJpegSegment(jpeg, 0xc0) + 6))).toBeUndefined();
    expect(readJpegHeader(jpeg.subarray(0, 20))).toBeUndefined();
    expect(readJpegHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0, 8]))).toBeUndefined();
    expect(readJpegHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]))).toBeUndefined();
    expect(readJpegHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 1]))).toBeUndefined();
    expect(readJpegHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xff]))).toBeUndefined();
    expect(readJpegHeader(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
  });

  it('reads IHDR and finds tRNS before IDAT', () => {
    const gray = makePng({ width: 3, height: 2, bitDepth: 4, colorType: 0, samples: [0, 1, 2, 3, 4, 5] });
    expect(readPngHeader(gray)).toEqual({
      width: 3,
      height: 2,
      bitDepth: 4,
      colorType: 0,
      hasTransparency: false,
    });
    const palette = makePng({
      width: 1,
      height: 1,
      bitDepth: 8,
      colorType: 3,
      samples: [0],
      palette: [1, 2, 3],
      trns: [7],
    });
    expect(readPngHeader(palette)).toEqual({
      width: 1,
      height: 1,
      bitDepth: 8,
      colorType: 3,
      hasTransparency: true,
    });
  });

  it('returns undefined without a valid IHDR', () => {
    const png = makePng({ width: 1, height: 1, bitDepth: 8, colorType: 0, samples: [0] });
    expect(readPngHeader(png.subarray(0, 30))).toBeUndefined();
    const renamed = Uint8Array.from(png);
    renamed[12] = 'X'.charCodeAt(0);
    expect(readPngHeader(renamed)).toBeUndefined();
    expect(readPngHeader(new Uint8Array(40))).toBeUndefined();
  });
});

describe('decodeJpeg', () => {
  it('decodes a colour JPEG to [H, W, 3] uint8 close to the source', async () => {
    const src = photoLike(H, W, 3);
    const image = await decodeJpeg(await sharpJpeg(src, H, W, 3, { quality: 95 }));
    expect(image.dtype).toBe('uint8');
    expect(image.shape).toEqual([H, W, 3]);
    expect(image.data.constructor).toBe(Uint8Array);
    expect(meanAbsDiff(image.data, src)).toBeLessThan(3);
  });

  it('decodes a view into a larger buffer (a record inside a file chunk)', async () => {
    const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
    const chunk = new Uint8Array(jpeg.length + 7);
    chunk.set(jpeg, 3);
    expect(await decodeJpeg(chunk.subarray(3, 3 + jpeg.length))).toEqual(await decodeJpeg(jpeg));
    const png = await sharpPng(Uint16Array.from([1, 2, 3, 4]), 2, 2, 1);
    const padded = new Uint8Array(png.length + 1);
    padded.set(png, 1);
    expect(Array.from((await decodePng(padded.subarray(1), { dtype: 'uint16' })).data)).toEqual([1, 2, 3, 4]);
  });

  it('decodes a 1x1 JPEG', async () => {
    const image = await decodeJpeg(
      await sharpJpeg(Uint8Array.from([200, 30, 90]), 1, 1, 3, { quality: 100 }),
    );
    expect(image.shape).toEqual([1, 1, 3]);
    expect(maxAbsDiff(image.data, [200, 30, 90])).toBeLessThanOrEqual(8);
  });

  it('decodes progressive and baseline encodings of one image alike', async () => {
    const src = photoLike(H, W, 3);
    const baseline = await decodeJpeg(await sharpJpeg(src, H, W, 3, { quality: 90 }));
    const progressive = await decodeJpeg(await sharpJpeg(src, H, W, 3, { quality: 90, progressive: true }));
    expect(progressive.shape).toEqual([H, W, 3]);
    expect(meanAbsDiff(progressive.data, baseline.data)).toBeLessThan(1);
  });

  it('grayscale JPEG: 1 channel by default, replicated for channels 3', async () => {
    const src = photoLike(H, W, 1);
    const jpeg = await sharpJpeg(src, H, W, 1);
    const gray = await decodeJpeg(jpeg);
    expect(gray.shape).toEqual([H, W, 1]);
    expect(meanAbsDiff(gray.data, src)).toBeLessThan(3);
    expect(await decodeJpeg(jpeg, { channels: 1 })).toEqual(gray);
    const rgb = await decodeJpeg(jpeg, { channels: 3 });
    expect(rgb.shape).toEqual([H, W, 3]);
    for (let i = 0; i < H * W; i++) {
      expect([rgb.data[3 * i], rgb.data[3 * i + 1], rgb.data[3 * i + 2]]).toEqual([
        gray.data[i],
        gray.data[i],
        gray.data[i],
      ]);
    }
  });

  it('colour JPEG with channels 1: libjpeg luma of the decoded RGB', async () => {
    const src = photoLike(H, W, 3);
    const jpeg = await sharpJpeg(src, H, W, 3);
    const rgb = await decodeJpeg(jpeg, { channels: 3 });
    const luma = await decodeJpeg(jpeg, { channels: 1 });
    expect(luma.shape).toEqual([H, W, 1]);
    for (let i = 0; i < H * W; i++) {
      const [r, g, b] = [rgb.data[3 * i], rgb.data[3 * i + 1], rgb.data[3 * i + 2]];
      // jccolor.c: FIX(0.299), FIX(0.587), FIX(0.114) with 16 fraction bits, ONE_HALF rounding.
      expect(luma.data[i]).toBe(Math.floor((19595 * r + 38470 * g + 7471 * b + 32768) / 65536));
    }
  });

  describe('CMYK', () => {
    async function cmykJpeg(src: Uint8Array, height: number, width: number) {
      return new Uint8Array(
        await rawSharp(src, height, width, 3).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
      );
    }

    it('TF integer conversion of the stored samples, with and without the Adobe marker', async () => {
      const adobe = await cmykJpeg(photoLike(H, W, 3), H, W);
      expect(findJpegSegment(adobe, 0xee)).toBeGreaterThan(0);
      const plain = withoutJpegSegment(adobe, 0xee);
      // libvips returns 255 - stored for every CMYK JPEG; both files hold the same scan.
      const inverted = await sharp(adobe).pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer();
      const stored = Uint8Array.from(inverted, (v) => 255 - v);
      const cases = [
        [adobe, (s: number, k: number) => Math.floor((k * s) / 255)],
        [plain, (s: number, k: number) => Math.floor(((255 - k) * (255 - s)) / 255)],
      ] as const;
      for (const [jpeg, tf] of cases) {
        for (const channels of [0, 3] as const) {
          const image = await decodeJpeg(jpeg, { channels });
          expect(image.shape).toEqual([H, W, 3]);
          for (let i = 0; i < H * W; i++) {
            for (let c = 0; c < 3; c++)
              expect(image.data[3 * i + c]).toBe(tf(stored[4 * i + c], stored[4 * i + 3]));
          }
        }
      }
    });

    it('white paper is white with the Adobe marker and black without it, as TF reads it', async () => {
      const white = new Uint8Array(8 * 8 * 3).fill(255);
      const adobe = await cmykJpeg(white, 8, 8);
      expect((await decodeJpeg(adobe)).data.every((v) => v === 255)).toBe(true);
      // Without APP14 the stored (inverted) zero ink reads as full ink: TF's non-Adobe branch.
      const plain = withoutJpegSegment(adobe, 0xee);
      expect(findJpegSegment(plain, 0xee)).toBe(-1);
      const image = await decodeJpeg(plain);
      expect(image.shape).toEqual([8, 8, 3]);
      expect(image.data.every((v) => v === 0)).toBe(true);
    });

    it('fails for channels 1, as TF does', async () => {
      const err = await rejection(
        decodeJpeg(await cmykJpeg(photoLike(4, 4, 3), 4, 4), { channels: 1, key: 'c.jpg' }),
      );
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toMatch(/^decodeJpeg: Cannot decode "c\.jpg": it is a CMYK JPEG/);
    });
  });

  describe('EXIF orientation', () => {
    async function orientedJpeg() {
      const src = photoLike(H, W, 3);
      return new Uint8Array(
        await rawSharp(src, H, W, 3).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer(),
      );
    }

    it('is ignored by default, as in TF', async () => {
      const jpeg = await orientedJpeg();
      expect((await sharp(jpeg).metadata()).orientation).toBe(6);
      expect((await decodeJpeg(jpeg)).shape).toEqual([H, W, 3]);
    });

    it('applyOrientation rotates 90 degrees clockwise for orientation 6', async () => {
      const jpeg = await orientedJpeg();
      const stored = await decodeJpeg(jpeg);
      const shown = await decodeJpeg(jpeg, { applyOrientation: true });
      expect(shown.shape).toEqual([W, H, 3]);
      for (let y = 0; y < W; y++) {
        for (let x = 0; x < H; x++) {
          for (let c = 0; c < 3; c++) {
            expect(shown.data[(y * H + x) * 3 + c]).toBe(stored.data[((H - 1 - x) * W + y) * 3 + c]);
          }
        }
      }
    });

    it('shrink sizes follow the displayed orientation', async () => {
      const image = await decodeJpeg(await orientedJpeg(), { applyOrientation: true, resize: { shrink: 4 } });
      expect(image.shape).toEqual([Math.ceil(W / 4), Math.ceil(H / 4), 3]);
    });
  });

  describe('resize', () => {
    const h = 75;
    const w = 101;

    it('shrink gives TF ratio sizes, ceil(dim / shrink), close to a box filter of the full decode', async () => {
      const jpeg = await sharpJpeg(photoLike(h, w, 3), h, w, 3);
      const full = await decodeJpeg(jpeg);
      for (const shrink of [2, 4, 8] as const) {
        const small = await decodeJpeg(jpeg, { resize: { shrink } });
        const [sh, sw] = [Math.ceil(h / shrink), Math.ceil(w / shrink)];
        expect(small.shape).toEqual([sh, sw, 3]);
        // Box average of each complete shrink x shrink block.
        let total = 0;
        let count = 0;
        for (let y = 0; y < Math.floor(h / shrink); y++) {
          for (let x = 0; x < Math.floor(w / shrink); x++) {
            for (let c = 0; c < 3; c++) {
              let sum = 0;
              for (let dy = 0; dy < shrink; dy++) {
                for (let dx = 0; dx < shrink; dx++)
                  sum += full.data[((y * shrink + dy) * w + x * shrink + dx) * 3 + c];
              }
              total += Math.abs(sum / (shrink * shrink) - small.data[(y * sw + x) * 3 + c]);
              count++;
            }
          }
        }
        expect(total / count).toBeLessThan(6);
      }
    });

    it('shrink 1 is the full decode', async () => {
      const jpeg = await sharpJpeg(photoLike(h, w, 3), h, w, 3);
      expect(await decodeJpeg(jpeg, { resize: { shrink: 1 } })).toEqual(await decodeJpeg(jpeg));
    });

    it('height and width give exactly that size, for gray and colour', async () => {
      const colour = await decodeJpeg(await sharpJpeg(photoLike(h, w, 3), h, w, 3), {
        resize: { height: 10, width: 30 },
      });
      expect(colour.shape).toEqual([10, 30, 3]);
      const gray = await decodeJpeg(await sharpJpeg(photoLike(h, w, 1), h, w, 1), {
        resize: { height: 33, width: 7 },
      });
      expect(gray.shape).toEqual([33, 7, 1]);
    });

    it('rejects bad resize options', async () => {
      const jpeg = await sharpJpeg(photoLike(4, 4, 3), 4, 4, 3);
      const cases: [unknown, RegExp][] = [
        [{ shrink: 3 }, /Expected one of 1, 2, 4, 8 for resize\.shrink but received 3/],
        [{ shrink: 2, height: 3 }, /Expected \{ height, width \} or \{ shrink \}, not both for resize/],
        [{ height: 0, width: 3 }, /for resize\.height but received 0/],
        [{ height: 3 }, /for resize\.width but received undefined/],
        [{ height: 3, width: 20000 }, /for resize\.width but received 20000/],
        ['small', /Expected an options object for resize/],
      ];
      for (const [resize, message] of cases) {
        const err = await rejection(decodeJpeg(jpeg, { resize: resize as never }));
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect(err.message).toMatch(message);
      }
    });
  });

  describe('errors', () => {
    it('names the key and what non-JPEG bytes look like', async () => {
      const png = await sharpPng(photoLike(4, 4, 3), 4, 4, 3);
      const err = await rejection(decodeJpeg(png, { key: 'cats/1.jpg' }));
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toBe(
        `decodeJpeg: Expected JPEG bytes (starting FF D8 FF) for "cats/1.jpg" but received PNG image bytes (${png.length} bytes)`,
      );
      expect(err).toMatchObject({ key: 'cats/1.jpg', stage: 'decodeJpeg', parameter: 'bytes' });
    });

    it('rejects empty, text and random bytes', async () => {
      const cases: [Uint8Array, RegExp][] = [
        [new Uint8Array(0), /received empty bytes \(0 bytes\)$/],
        [
          new TextEncoder().encode('label,file\n3,cat.jpg\n'),
          /received text \(21 bytes\) starting "label,file 3,cat\.jpg"$/,
        ],
        [
          Uint8Array.from(randomSamples(64, 255, 9)),
          /received 64 bytes in no recognised image format, starting/,
        ],
      ];
      for (const [bytes, message] of cases) {
        const err = await rejection(decodeJpeg(bytes));
        expect(err).toBeInstanceOf(DecodeError);
        expect(err.message).toMatch(/^decodeJpeg: Expected JPEG bytes \(starting FF D8 FF\) for bytes but/);
        expect(err.message).toMatch(message);
      }
    });

    it('detects truncation anywhere, baseline and progressive', async () => {
      const src = photoLike(H, W, 3);
      for (const progressive of [false, true]) {
        const jpeg = await sharpJpeg(src, H, W, 3, { progressive });
        for (const keep of [0.95, 0.6, 0.2, 30 / jpeg.length]) {
          const cut = jpeg.subarray(0, Math.floor(jpeg.length * keep));
          const err = await rejection(decodeJpeg(cut, { key: 'cut.jpg' }));
          expect(err).toBeInstanceOf(DecodeError);
          expect(err.message).toMatch(/^decodeJpeg: Cannot decode "cut\.jpg": the data is truncated/);
          expect((err as DecodeError).key).toBe('cut.jpg');
          expect(err.cause).toBeInstanceOf(Error);
        }
        // Only the final EOI marker missing still loses data libjpeg wanted.
        expect(await rejection(decodeJpeg(jpeg.subarray(0, jpeg.length - 2)))).toBeInstanceOf(DecodeError);
      }
    });

    it('rejects corrupt frame data', async () => {
      const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
      const corrupt = Uint8Array.from(jpeg);
      const sof = findJpegSegment(corrupt, 0xc0);
      corrupt[sof + 9] = 9; // 9 components
      const err = await rejection(decodeJpeg(corrupt, { key: 'bad.jpg' }));
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toMatch(/^decodeJpeg: Cannot decode "bad\.jpg": the data is (corrupt|truncated)/);
    });

    it('fails without a frame header, also when resizing needs its size', async () => {
      const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
      const headerless = jpeg.subarray(0, findJpegSegment(jpeg, 0xc0));
      for (const options of [
        {},
        { resize: { shrink: 2 } },
        { applyOrientation: true, resize: { shrink: 4 } },
      ] as const) {
        const err = await rejection(decodeJpeg(headerless, { ...options, key: 'h.jpg' }));
        expect(err).toBeInstanceOf(DecodeError);
        expect(err.message).toMatch(/^decodeJpeg: Cannot decode "h\.jpg": the data is truncated/);
      }
    });

    it('refuses a decompression bomb before allocating it', async () => {
      const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
      const bomb = withJpegDimensions(jpeg, 60000, 60000);
      const before = process.memoryUsage().rss;
      const err = await rejection(decodeJpeg(bomb, { key: 'bomb.jpg' }));
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toBe(
        `decodeJpeg: Cannot decode "bomb.jpg": its header declares 60000x60000 pixels, more than sharp's limit of 268402689 pixels (a guard against decompression bombs)`,
      );
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    });

    it('rejects bad arguments', async () => {
      const jpeg = await sharpJpeg(photoLike(4, 4, 3), 4, 4, 3);
      const cases: [Promise<unknown>, string][] = [
        [
          decodeJpeg([1, 2] as never),
          'decodeJpeg: Expected a Uint8Array (or Buffer) for bytes but received [1,2]',
        ],
        [
          decodeJpeg(jpeg, { channels: 4 } as never),
          'decodeJpeg: Expected one of 0, 1, 3 for channels but received 4',
        ],
        [
          decodeJpeg(jpeg, { channels: 2 } as never),
          'decodeJpeg: Expected one of 0, 1, 3 for channels but received 2',
        ],
        [
          decodeJpeg(jpeg, { applyOrientation: 1 } as never),
          'decodeJpeg: Expected a boolean for applyOrientation but received 1',
        ],
        [decodeJpeg(jpeg, { key: 3 } as never), 'decodeJpeg: Expected a string for key but received 3'],
        [decodeJpeg(jpeg, [] as never), 'decodeJpeg: Expected an options object for options but received []'],
      ];
      for (const [promise, message] of cases) {
        const err = await rejection(promise);
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect(err.message).toBe(message);
      }
    });
  });
});

describe('decodePng', () => {
  it('decodes every 8-bit layout exactly, with TF channel counts by default', async () => {
    for (const channels of [1, 2, 3, 4] as const) {
      const src = Uint8Array.from(randomSamples(H * W * channels, 255, channels));
      const image = await decodePng(await sharpPng(src, H, W, channels));
      expect(image.dtype).toBe('uint8');
      expect(image.shape).toEqual([H, W, channels]);
      expect(image.data.constructor).toBe(Uint8Array);
      expect(Array.from(image.data)).toEqual(Array.from(src));
    }
  });

  it('decodes 1x1 and interlaced (Adam7) PNGs', async () => {
    const one = await decodePng(await sharpPng(Uint8Array.from([1, 2, 3, 4]), 1, 1, 4));
    expect(one).toEqual({ dtype: 'uint8', shape: [1, 1, 4], data: Uint8Array.from([1, 2, 3, 4]) });
    const src = photoLike(H, W, 3);
    const interlaced = await sharpPng(src, H, W, 3, { progressive: true });
    expect(interlaced[28]).toBe(1);
    expect(Array.from((await decodePng(interlaced)).data)).toEqual(Array.from(src));
  });

  it('expands palettes: RGB, or RGBA when tRNS is present', async () => {
    const palette = [255, 0, 0, 0, 255, 0, 0, 0, 255];
    const indices = [0, 1, 2, 2, 1, 0];
    const opaque = await decodePng(
      makePng({ width: 3, height: 2, bitDepth: 8, colorType: 3, samples: indices, palette }),
    );
    expect(opaque.shape).toEqual([2, 3, 3]);
    expect(Array.from(opaque.data)).toEqual(indices.flatMap((i) => palette.slice(3 * i, 3 * i + 3)));
    const trns = [128, 255, 0];
    const png = makePng({ width: 3, height: 2, bitDepth: 2, colorType: 3, samples: indices, palette, trns });
    const rgba = await decodePng(png);
    expect(rgba.shape).toEqual([2, 3, 4]);
    expect(Array.from(rgba.data)).toEqual(
      indices.flatMap((i) => [...palette.slice(3 * i, 3 * i + 3), trns[i]]),
    );
    // sharp's own palette writer too.
    const src = photoLike(H, W, 3);
    const quantised = await sharpPng(src, H, W, 3, { palette: true });
    expect(quantised[25]).toBe(3);
    const decoded = await decodePng(quantised);
    expect(decoded.shape).toEqual([H, W, 3]);
    expect(meanAbsDiff(decoded.data, src)).toBeLessThan(6);
  });

  it('scales 1, 2 and 4-bit gray to 8 bits as libpng does', async () => {
    const cases = [
      { bitDepth: 1, samples: [0, 1], expected: [0, 255] },
      { bitDepth: 2, samples: [0, 1, 2, 3], expected: [0, 85, 170, 255] },
      { bitDepth: 4, samples: [0, 1, 7, 15], expected: [0, 17, 119, 255] },
    ] as const;
    for (const { bitDepth, samples, expected } of cases) {
      const png = makePng({ width: samples.length, height: 1, bitDepth, colorType: 0, samples });
      const image = await decodePng(png);
      expect(image.shape).toEqual([1, samples.length, 1]);
      expect(Array.from(image.data)).toEqual(expected);
    }
  });

  it('tRNS on gray and RGB: dropped by default, alpha when 4 channels are asked for', async () => {
    const gray = makePng({
      width: 3,
      height: 1,
      bitDepth: 8,
      colorType: 0,
      samples: [0, 1, 2],
      trns: [0, 1],
    });
    const g = await decodePng(gray);
    expect(g.shape).toEqual([1, 3, 1]);
    expect(Array.from(g.data)).toEqual([0, 1, 2]);
    expect(Array.from((await decodePng(gray, { channels: 4 })).data)).toEqual([
      0, 0, 0, 255, 1, 1, 1, 0, 2, 2, 2, 255,
    ]);
    const rgb = makePng({
      width: 2,
      height: 1,
      bitDepth: 8,
      colorType: 2,
      samples: [1, 2, 3, 4, 5, 6],
      trns: [0, 1, 0, 2, 0, 3],
    });
    expect(Array.from((await decodePng(rgb)).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from((await decodePng(rgb, { channels: 4 })).data)).toEqual([1, 2, 3, 0, 4, 5, 6, 255]);
    const gray16 = makePng({
      width: 2,
      height: 1,
      bitDepth: 16,
      colorType: 0,
      samples: [1000, 2000],
      trns: [0x03, 0xe8],
    });
    const deep = await decodePng(gray16, { channels: 4, dtype: 'uint16' });
    expect(Array.from(deep.data)).toEqual([1000, 1000, 1000, 0, 2000, 2000, 2000, 65535]);
  });

  describe('16-bit', () => {
    const samples = Uint16Array.from([0, 0x00ff, 0x0100, 0x01ff, 0x7fff, 0x8000, 0xfeff, 0xff00, 0xffff]);

    it('dtype uint16 keeps the samples; uint8 keeps the high byte (libpng strip_16, not rounding)', async () => {
      for (const [channels, colorType] of [
        [1, 0],
        [3, 2],
      ] as const) {
        const src = Uint16Array.from({ length: 6 * channels }, (_, i) => samples[i % samples.length]);
        const png = await sharpPng(src, 2, 3, channels);
        expect([png[24], png[25]]).toEqual([16, colorType]);
        const deep = await decodePng(png, { dtype: 'uint16' });
        expect(deep.dtype).toBe('uint16');
        expect(deep.shape).toEqual([2, 3, channels]);
        expect(deep.data.constructor).toBe(Uint16Array);
        expect(Array.from(deep.data)).toEqual(Array.from(src));
        const narrow = await decodePng(png);
        expect(Array.from(narrow.data)).toEqual(Array.from(src, (v) => v >> 8));
      }
      const one = await decodePng(await sharpPng(Uint16Array.from([0x01ff]), 1, 1, 1));
      expect(one.data[0]).toBe(1);
    });

    it('gray+alpha and RGBA at 16 bits', async () => {
      for (const channels of [2, 4] as const) {
        const src = Uint16Array.from(randomSamples(H * W * channels, 65535, 40 + channels));
        const png = await sharpPng(src, H, W, channels);
        expect(Array.from((await decodePng(png, { dtype: 'uint16' })).data)).toEqual(Array.from(src));
      }
    });

    it('8-bit samples widen to uint16 as v * 257 (TF Convert8to16)', async () => {
      const png = await sharpPng(Uint8Array.from([0, 1, 128, 255]), 1, 4, 1);
      const deep = await decodePng(png, { dtype: 'uint16' });
      expect(Array.from(deep.data)).toEqual([0, 257, 32896, 65535]);
    });
  });

  it('converts channels by TF rules (property test over random images and layouts)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(1, 2, 3, 4),
        fc.constantFrom(0, 1, 3, 4),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        async (height, width, from, to, sixteenBit, seed) => {
          const max = sixteenBit ? 65535 : 255;
          const values = randomSamples(height * width * from, max, seed);
          // Some gray pixels in colour images exercise libpng's r == g == b shortcut.
          if (from >= 3)
            for (let p = 0; p < values.length; p += 2 * from) values[p + 1] = values[p + 2] = values[p];
          const src = sixteenBit ? Uint16Array.from(values) : Uint8Array.from(values);
          const png = await sharpPng(src, height, width, from as 1 | 2 | 3 | 4);
          const deep = await decodePng(png, { channels: to as 0 | 1 | 3 | 4, dtype: 'uint16' });
          const narrow = await decodePng(png, { channels: to as 0 | 1 | 3 | 4 });
          const outChannels = to === 0 ? from : to;
          const model = tfPngModel(values, from, outChannels, sixteenBit);
          expect(deep.shape).toEqual([height, width, outChannels]);
          expect(narrow.shape).toEqual([height, width, outChannels]);
          expect(Array.from(deep.data)).toEqual(sixteenBit ? model : model.map((v) => v * 257));
          expect(Array.from(narrow.data)).toEqual(sixteenBit ? model.map((v) => v >> 8) : model);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rgb -> gray uses libpng coefficients 9797, 19234, 3737 (8-bit truncates, 16-bit rounds)', async () => {
    expect([RC, GC, BC]).toEqual([9797, 19234, 3737]);
    const png8 = await sharpPng(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 10, 10]), 1, 4, 3);
    expect(Array.from((await decodePng(png8, { channels: 1 })).data)).toEqual([76, 149, 29, 10]);
    const png16 = await sharpPng(Uint16Array.from([65535, 0, 0, 1, 2, 3]), 1, 2, 3);
    expect(Array.from((await decodePng(png16, { channels: 1, dtype: 'uint16' })).data)).toEqual([19594, 2]);
  });

  describe('errors', () => {
    it('names the key and what non-PNG bytes look like', async () => {
      const jpeg = await sharpJpeg(photoLike(4, 4, 3), 4, 4, 3);
      const err = await rejection(decodePng(jpeg, { key: 'a.png' }));
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toBe(
        `decodePng: Expected PNG bytes (starting 89 50 4E 47) for "a.png" but received JPEG image bytes (${jpeg.length} bytes)`,
      );
    });

    it('rejects a missing header, truncated data and bad checksums', async () => {
      const png = await sharpPng(photoLike(H, W, 3), H, W, 3);
      const noHeader = await rejection(decodePng(png.subarray(0, 20), { key: 'h.png' }));
      expect(noHeader).toBeInstanceOf(DecodeError);
      expect(noHeader.message).toBe(
        'decodePng: Cannot decode "h.png": its PNG header (the IHDR chunk) is missing or truncated',
      );
      for (const keep of [0.9, 0.5, 40 / png.length]) {
        const err = await rejection(
          decodePng(png.subarray(0, Math.floor(png.length * keep)), { key: 't.png' }),
        );
        expect(err).toBeInstanceOf(DecodeError);
        expect(err.message).toMatch(/^decodePng: Cannot decode "t\.png": the data is (truncated|corrupt)/);
      }
      const badCrc = Uint8Array.from(png);
      badCrc[29] ^= 0xff; // IHDR CRC
      const crcErr = await rejection(decodePng(badCrc, { key: 'crc.png' }));
      expect(crcErr).toBeInstanceOf(DecodeError);
      // Checked before libspng, which would also notice this one (but not a bad CRC on the last IDAT).
      expect(crcErr.message).toMatch(
        /^decodePng: Cannot decode "crc\.png": the data is corrupt: the CRC of its IHDR chunk at byte 8 is 0x[0-9a-f]{8}, not 0x[0-9a-f]{8}$/,
      );
      expect(crcErr).toMatchObject({ key: 'crc.png', offset: 8, parameter: 'bytes' });
      const idat = Buffer.from(png).indexOf('IDAT');
      const badData = Uint8Array.from(png);
      for (let i = idat + 10; i < idat + 40; i++) badData[i] ^= 0x55;
      expect((await rejection(decodePng(badData))).message).toMatch(/the data is corrupt/);
    });

    it('refuses a decompression bomb before allocating it', async () => {
      const before = process.memoryUsage().rss;
      const err = await rejection(decodePng(pngBomb(100000, 100000), { key: 'bomb.png' }));
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toBe(
        `decodePng: Cannot decode "bomb.png": its header declares 100000x100000 pixels, more than sharp's limit of 268402689 pixels (a guard against decompression bombs)`,
      );
      // Under the limit but far bigger than its data: fails reading rows, still without allocating.
      expect(await rejection(decodePng(pngBomb(16000, 16000)))).toBeInstanceOf(DecodeError);
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    });

    it('rejects bad arguments', async () => {
      const png = await sharpPng(photoLike(2, 2, 3), 2, 2, 3);
      const cases: [Promise<unknown>, string][] = [
        [decodePng('x' as never), 'decodePng: Expected a Uint8Array (or Buffer) for bytes but received "x"'],
        [
          decodePng(png, { channels: 2 } as never),
          'decodePng: Expected one of 0, 1, 3, 4 for channels but received 2',
        ],
        [
          decodePng(png, { dtype: 'float32' } as never),
          "decodePng: Expected one of 'uint8', 'uint16' for dtype but received \"float32\"",
        ],
        [decodePng(png, { key: null } as never), 'decodePng: Expected a string for key but received null'],
      ];
      for (const [promise, message] of cases) {
        const err = await rejection(promise);
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect(err.message).toBe(message);
      }
    });
  });
});

describe('decodeImage', () => {
  it('follows the magic bytes, not the name: a PNG named .jpg decodes as PNG', async () => {
    const src = Uint8Array.from(randomSamples(H * W * 4, 255, 5));
    const png = await sharpPng(src, H, W, 4);
    const image = await decodeImage(png, { key: 'photo.jpg' });
    expect(image.shape).toEqual([H, W, 4]);
    expect(Array.from(image.data)).toEqual(Array.from(src));
    const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
    expect(await decodeImage(jpeg, { key: 'photo.png' })).toEqual(await decodeJpeg(jpeg));
    expect(await decodeImage(jpeg, { channels: 1 })).toEqual(await decodeJpeg(jpeg, { channels: 1 }));
  });

  it('converts dtypes as convert_image_dtype', async () => {
    const jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
    const u8 = await decodeJpeg(jpeg);
    const scale8 = Math.fround(1 / 255);
    const f = await decodeImage(jpeg, { dtype: 'float32' });
    expect(f.dtype).toBe('float32');
    expect(f.shape).toEqual([H, W, 3]);
    expect(Array.from(f.data)).toEqual(Array.from(u8.data, (v) => Math.fround(v * scale8)));
    const wide = await decodeImage(jpeg, { dtype: 'uint16' });
    expect(Array.from(wide.data)).toEqual(Array.from(u8.data, (v) => v * 256));
    // PNGs decode to uint16 first (TF1 decode_image), then scale by 1/65535.
    const png = await sharpPng(Uint8Array.from([0, 1, 128, 255]), 2, 2, 1);
    const pf = await decodeImage(png, { dtype: 'float32' });
    expect(pf.shape).toEqual([2, 2, 1]);
    expect(Array.from(pf.data)).toEqual(
      [0, 1, 128, 255].map((v) => Math.fround(v * 257 * Math.fround(1 / 65535))),
    );
    expect(pf.data[3]).toBe(1);
    const pu = await decodeImage(png, { dtype: 'uint16' });
    expect(Array.from(pu.data)).toEqual([0, 257, 32896, 65535]);
    expect(Array.from((await decodeImage(png)).data)).toEqual([0, 1, 128, 255]);
  });

  it('fails for a JPEG with 4 channels, as TF', async () => {
    const err = await rejection(
      decodeImage(await sharpJpeg(photoLike(2, 2, 3), 2, 2, 3), { channels: 4, key: 'k' }),
    );
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toBe(
      'decodeImage: Cannot decode "k": it is a JPEG, which decodes to 1 or 3 channels, not 4 (TF fails too)',
    );
  });

  it('lists the supported formats for anything else', async () => {
    const gif = await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } })
      .gif()
      .toBuffer();
    const webp = await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } })
      .webp()
      .toBuffer();
    const bmp = Uint8Array.from([0x42, 0x4d, 0x3a, 0, 0, 0]);
    for (const [bytes, what] of [
      [gif, 'GIF image bytes'],
      [webp, 'WebP image bytes'],
      [bmp, 'BMP image bytes'],
      [new Uint8Array(0), 'empty bytes'],
      [new TextEncoder().encode('{"not": "an image"}'), 'text (19 bytes) starting'],
    ] as const) {
      const err = await rejection(decodeImage(bytes, { key: 'f' }));
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toMatch(
        /^decodeImage: Expected JPEG or PNG bytes \(the formats decodeImage supports\) for "f" but received /,
      );
      expect(err.message).toContain(what);
    }
  });

  it('rejects bad arguments', async () => {
    const png = await sharpPng(photoLike(2, 2, 3), 2, 2, 3);
    const cases: [Promise<unknown>, string][] = [
      [
        decodeImage(undefined as never),
        'decodeImage: Expected a Uint8Array (or Buffer) for bytes but received undefined',
      ],
      [
        decodeImage(png, { channels: 5 } as never),
        'decodeImage: Expected one of 0, 1, 3, 4 for channels but received 5',
      ],
      [
        decodeImage(png, { dtype: 'int32' } as never),
        "decodeImage: Expected one of 'uint8', 'uint16', 'float32' for dtype but received \"int32\"",
      ],
    ];
    for (const [promise, message] of cases) {
      const err = await rejection(promise);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toBe(message);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Hostile inputs (issue 6): every failure is a DecodeError naming the key and the parameter, refused
// before anything is allocated for what the header claims.

/** `png` with its IHDR declaring width x height (a valid CRC: only the dimensions lie). */
function withPngDimensions(png: Uint8Array, width: number, height: number): Uint8Array {
  const ihdr = Buffer.from(png.subarray(16, 29));
  ihdr.writeUInt32BE(width >>> 0, 0);
  ihdr.writeUInt32BE(height >>> 0, 4);
  return Uint8Array.from([...png.subarray(0, 8), ...pngChunk('IHDR', ihdr), ...png.subarray(33)]);
}

/** `png` with the stored CRC of its first chunk of `type` changed. */
function withBadCrc(png: Uint8Array, type: string): Uint8Array {
  const at = Buffer.from(png).indexOf(type) - 4;
  const out = Uint8Array.from(png);
  out[at + 12 + Buffer.from(png).readUInt32BE(at) - 1] ^= 0x01;
  return out;
}

describe('bad images: each a typed DecodeError naming the key', () => {
  let jpeg: Uint8Array;
  let progressive: Uint8Array;
  let png: Uint8Array;
  beforeAll(async () => {
    jpeg = await sharpJpeg(photoLike(H, W, 3), H, W, 3);
    progressive = await sharpJpeg(photoLike(H, W, 3), H, W, 3, { progressive: true });
    png = await sharpPng(photoLike(H, W, 3), H, W, 3);
  });

  /** The same bytes with the baseline frame marker (SOF0) turned into arithmetic coding's (SOF9). */
  const asArithmetic = (bytes: Uint8Array): Uint8Array => {
    const out = Uint8Array.from(bytes);
    for (let i = 2; i + 1 < out.length; i++) {
      if (out[i] === 0xff && out[i + 1] === 0xc0) {
        out[i + 1] = 0xc9;
        return out;
      }
    }
    throw new Error('no SOF0 marker');
  };
  const cases: [name: string, bytes: () => Uint8Array, message: RegExp][] = [
    [
      'JPEG truncated',
      () => jpeg.subarray(0, jpeg.length >> 1),
      /: the data is truncated: the JPEG image bytes \(\d+ bytes\) end/,
    ],
    [
      'JPEG declaring 65000x65000 pixels',
      () => withJpegDimensions(jpeg, 65000, 65000),
      /: its header declares 65000x65000 pixels, more than sharp's limit of 268402689 pixels/,
    ],
    [
      'JPEG declaring 16000x16000 pixels in a few hundred bytes',
      () => withJpegDimensions(jpeg, 16000, 16000),
      /: its header declares 16000x16000 pixels, more than its \d+ bytes can hold \(at most \d+ pixels, 512 per byte for Huffman coding\)/,
    ],
    [
      // Arithmetic coding has a looser bound (32,768 pixels per byte), but a bound all the same.
      'arithmetic-coded JPEG (SOF9) declaring 12000x12000 pixels in a few hundred bytes',
      () => asArithmetic(withJpegDimensions(jpeg, 12000, 12000)),
      /: its header declares 12000x12000 pixels, more than its \d+ bytes can hold \(at most \d+ pixels, 32768 per byte for arithmetic coding\)/,
    ],
    [
      'progressive JPEG declaring 16000x16000 pixels',
      () => withJpegDimensions(progressive, 16000, 16000),
      /: its header declares 16000x16000 pixels, more than its \d+ bytes can hold/,
    ],
    [
      'JPEG without rows',
      () => withJpegDimensions(jpeg, 0, W),
      /: its header declares 40x0 pixels: an image without pixels$/,
    ],
    [
      'PNG without columns',
      () => withPngDimensions(png, 0, H),
      /: its header declares 0x24 pixels: an image without pixels$/,
    ],
    [
      'PNG declaring 16000x16000 pixels',
      () => withPngDimensions(png, 16000, 16000),
      /: its header declares 16000x16000 pixels, more than its \d+ bytes can hold \(deflate expands at most 1032:1\)/,
    ],
    [
      'PNG declaring 2^32-1 x 2^32-1 pixels (the format allows 2^31-1)',
      () => withPngDimensions(png, 0xffffffff, 0xffffffff),
      /: the data is corrupt \(libvips: .*invalid image width\)$/,
    ],
    [
      'PNG with a bad CRC on its IDAT chunk',
      () => withBadCrc(png, 'IDAT'),
      /: the data is corrupt: the CRC of its IDAT chunk at byte \d+ is 0x[0-9a-f]{8}, not 0x[0-9a-f]{8}$/,
    ],
    ['PNG with a bad CRC on its IEND chunk', () => withBadCrc(png, 'IEND'), /the CRC of its IEND chunk/],
    [
      'text file named .jpg',
      () => new TextEncoder().encode('<html><body>404 Not Found</body></html>\n'),
      /: Expected JPEG or PNG bytes .* but received text \(40 bytes\) starting "<html><body>404 Not Found<\/body>..."$/,
    ],
    ['0-byte file', () => new Uint8Array(0), /but received empty bytes \(0 bytes\)$/],
    [
      'random bytes',
      () => Uint8Array.from(randomSamples(300, 255, 4)),
      /but received 300 bytes in no recognised image format/,
    ],
    [
      'random bytes after a JPEG signature',
      () => Uint8Array.from([0xff, 0xd8, 0xff, ...randomSamples(300, 255, 5)]),
      /: Cannot decode "photo\.jpg": the data is (corrupt|truncated)/,
    ],
  ];

  it.each(cases)('%s', async (_, bytes, message) => {
    const before = process.memoryUsage().rss;
    const err = await rejection(decodeImage(bytes(), { key: 'photo.jpg' }));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ key: 'photo.jpg', stage: 'decodeImage', parameter: 'bytes' });
    expect(err.message).toMatch(/^decodeImage: (Cannot decode|Expected [^:]* for) "photo\.jpg"/);
    expect(err.message).toMatch(message);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('the format decoders refuse the same lying headers', async () => {
    const jpegErr = await rejection(decodeJpeg(withJpegDimensions(jpeg, 16000, 16000), { key: 'a.jpg' }));
    expect(jpegErr.message).toMatch(
      /^decodeJpeg: Cannot decode "a\.jpg": its header declares 16000x16000 pixels, more than/,
    );
    const pngErr = await rejection(decodePng(withPngDimensions(png, 3000, 3000), { key: 'a.png' }));
    expect(pngErr.message).toMatch(
      /^decodePng: Cannot decode "a\.png": its header declares 3000x3000 pixels, more than/,
    );
  });

  it('a PNG named .jpg decodes by content, and so does a PNG with a bad CRC on an ancillary chunk', async () => {
    expect(await decodeImage(png, { key: 'photo.jpg' })).toEqual(await decodePng(png));
    const withText = Uint8Array.from([
      ...png.subarray(0, 33),
      ...pngChunk('tEXt', new TextEncoder().encode('Comment\0hello')),
      ...png.subarray(33),
    ]);
    expect(await decodeImage(withBadCrc(withText, 'tEXt'))).toEqual(await decodePng(png));
  });

  it('the size bounds hold for real images: a flat grey image compresses far less than they allow', async () => {
    // The most compressible images there are: one grey level, optimised Huffman tables, progressive.
    const side = 512;
    const flat = new Uint8Array(side * side).fill(128);
    for (const options of [{ optimiseCoding: true }, { progressive: true, optimiseCoding: true }]) {
      const bytes = await sharpJpeg(flat, side, side, 1, options);
      expect((side * side) / bytes.length).toBeLessThan(512);
      expect((await decodeJpeg(bytes)).shape).toEqual([side, side, 1]);
    }
    const flatPng = await sharpPng(flat, side, side, 1, { compressionLevel: 9 });
    expect((side * (side + 1)) / flatPng.length).toBeLessThan(1032);
    expect((await decodePng(flatPng)).shape).toEqual([side, side, 1]);
  });
});

describe('decoders on random, truncated and bit-flipped bytes (property tests)', () => {
  let sources: Uint8Array[];
  beforeAll(async () => {
    sources = [
      await sharpJpeg(photoLike(H, W, 3), H, W, 3),
      await sharpJpeg(photoLike(H, W, 3), H, W, 3, { progressive: true }),
      await sharpJpeg(photoLike(H, W, 1), H, W, 1),
      await sharpPng(photoLike(H, W, 3), H, W, 3),
      await sharpPng(photoLike(H, W, 4), H, W, 4, { palette: true }),
      makePng({ width: 5, height: 3, bitDepth: 16, colorType: 4, samples: randomSamples(30, 65535, 7) }),
      makePng({ width: 9, height: 2, bitDepth: 2, colorType: 0, samples: randomSamples(18, 3, 8) }),
    ];
  });

  type Mutation =
    | { kind: 'flip'; at: number[]; bit: number[] }
    | { kind: 'cut'; keep: number }
    | { kind: 'overwrite'; at: number; bytes: number[] };
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({
      kind: fc.constant('flip' as const),
      at: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
      bit: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 8, maxLength: 8 }),
    }),
    fc.record({ kind: fc.constant('cut' as const), keep: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({
      kind: fc.constant('overwrite' as const),
      // Mostly in the headers, where a lie does the most harm.
      at: fc.integer({ min: 0, max: 200 }),
      bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 6 }),
    }),
  );
  function mutate(src: Uint8Array, m: Mutation): Uint8Array {
    if (m.kind === 'cut') return src.subarray(0, Math.floor(src.length * m.keep));
    const out = Uint8Array.from(src);
    if (m.kind === 'flip') for (const [i, a] of m.at.entries()) out[a % out.length] ^= 1 << m.bit[i];
    else for (const [i, b] of m.bytes.entries()) out[(m.at + i) % out.length] = b;
    return out;
  }

  type Decoder = 'image' | 'jpeg' | 'png';
  const decode = (which: Decoder, bytes: Uint8Array, channels: number) =>
    which === 'jpeg'
      ? decodeJpeg(bytes, { channels: (channels % 4 === 3 ? 3 : channels % 2) as 0 | 1, key: 'k' })
      : which === 'png'
        ? decodePng(bytes, { channels: channels as 0 | 1 | 3 | 4, dtype: 'uint16', key: 'k' })
        : decodeImage(bytes, { channels: (channels === 4 ? 3 : channels) as 0 | 1 | 3, key: 'k' });

  /**
   * Decodes with a time bound; the result is either a well-formed tensor no larger than the bytes
   * can hold, or a DecodeError naming the key. Anything else (another error, a hang) fails.
   */
  async function checkDecode(which: Decoder, bytes: Uint8Array, channels: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      decode(which, bytes, channels).then(
        (image) => ({ image }),
        (error: unknown) => ({ error }),
      ),
      new Promise<{ hung: true }>((resolve) => (timer = setTimeout(() => resolve({ hung: true }), 5000))),
    ]);
    clearTimeout(timer);
    expect(outcome).not.toHaveProperty('hung');
    if ('error' in outcome) {
      expect(outcome.error).toBeInstanceOf(DecodeError);
      expect(outcome.error).toMatchObject({ key: 'k', parameter: 'bytes' });
      return;
    }
    const { shape, data } = (outcome as unknown as { image: { shape: number[]; data: ArrayLike<number> } })
      .image;
    expect(data.length).toBe(shape[0] * shape[1] * shape[2]);
    expect(shape[0] * shape[1]).toBeGreaterThan(0);
    // 512 pixels per byte bounds Huffman JPEGs; PNG rows 1032 bytes per byte (8 pixels a byte at 1 bit).
    expect(shape[0] * shape[1]).toBeLessThanOrEqual(8 * 1032 * bytes.length);
  }

  const decoderArb = fc.constantFrom<Decoder>('image', 'jpeg', 'png');
  const channelsArb = fc.constantFrom(0, 1, 3, 4);
  const rssBefore = process.memoryUsage().rss;

  it('mutated real JPEGs and PNGs: a tensor or a DecodeError, in bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), mutation, decoderArb, channelsArb, async (s, m, which, channels) => {
        await checkDecode(which, mutate(sources[s % sources.length], m), channels);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes, bare or behind a JPEG or PNG signature', async () => {
    const prefix = fc.constantFrom([], [0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    await fc.assert(
      fc.asyncProperty(
        prefix,
        fc.uint8Array({ maxLength: 300 }),
        decoderArb,
        channelsArb,
        async (p, tail, which, c) => {
          await checkDecode(which, Uint8Array.from([...p, ...tail]), c);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lying dimensions are refused or decoded within the bounds, never allocated', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 65535 }),
        decoderArb,
        async (s, height, width, which) => {
          const src = sources[s % sources.length];
          const lying =
            sniffFormat(src) === 'jpeg'
              ? withJpegDimensions(src, height, width)
              : withPngDimensions(src, width, height);
          await checkDecode(which, lying, 0);
        },
      ),
      { numRuns: 150 },
    );
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
  });
});
