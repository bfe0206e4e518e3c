import sharp from 'sharp';
import { invalidArgument } from '../core/errors.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';
import type { Image } from '../image/image.js';
import {
  channelsOption,
  checkBytes,
  decodeError,
  explainSharpError,
  keyOption,
  notFormat,
  PIXEL_LIMIT,
  run,
  SHARP_INPUT,
  uint8,
} from './decode-common.js';
import { ensureSharpConfigured } from './sharp-config.js';
import { type JpegHeader, jpegMaxPixels, readJpegHeader, sniffFormat } from './sniff-format.js';

/**
 * JPEG decoding (see decode-common.ts for what all decoders share):
 * - pixels equal libjpeg-turbo's accurate integer IDCT (`djpeg -dct int`); TF's default is the fast
 *   IDCT, which differs by a few levels (docs/image-decode.md);
 * - CMYK/YCCK JPEGs get TF's integer CMYK->RGB, not an ICC conversion; embedded ICC profiles and EXIF
 *   orientation are ignored, as in TF (orientation on request);
 * - a colour JPEG decoded to 1 channel gets the Rec.601 luma of the decoded RGB, which is libjpeg's Y
 *   within 1 except where the RGB was clamped (saturated colours): sharp cannot return the Y plane.
 */

export type JpegResize = { height: number; width: number } | { shrink: 1 | 2 | 4 | 8 };

export interface DecodeJpegOptions {
  /** 0: 1 for grayscale JPEGs, else 3 (CMYK included); 1: luma; 3: RGB. Default 0. */
  channels?: 0 | 1 | 3;
  /** Rotate/flip by the EXIF orientation. Default false, as TF. */
  applyOrientation?: boolean;
  /**
   * Resize while decoding: `{ shrink }` gives TF's `ratio` output size, ceil(dim / shrink); `{ height,
   * width }` any size (aspect not kept). sharp shrinks in the DCT then finishes with Lanczos3: fast,
   * but not TF's pixels.
   */
  resize?: JpegResize;
  /** Record key or file name, quoted in errors. */
  key?: string;
}

const MAX_RESIZE = 0x3fff;

/**
 * TF's `decode_jpeg` (with `dct_method='INTEGER_ACCURATE'`): uint8 [H, W, channels]. Not-JPEG,
 * truncated or corrupt bytes and oversized images reject with a DecodeError naming `key`.
 */
export async function decodeJpeg(
  bytes: Uint8Array,
  options: DecodeJpegOptions = {},
): Promise<Image<'uint8'>> {
  const stage = 'decodeJpeg';
  checkBytes(stage, bytes);
  const opts = objectOption(stage, 'options', options);
  const channels = channelsOption(stage, opts.channels, [0, 1, 3]);
  const applyOrientation = booleanOption(stage, 'applyOrientation', opts.applyOrientation, false);
  const resize = resizeOption(stage, opts.resize);
  const key = keyOption(stage, opts.key);
  if (sniffFormat(bytes) !== 'jpeg') throw notFormat(stage, 'JPEG bytes (starting FF D8 FF)', bytes, key);
  return decodeJpegPixels(stage, bytes, { channels, applyOrientation, resize, key });
}

export interface JpegSettings {
  channels: 0 | 1 | 3;
  applyOrientation: boolean;
  resize?: JpegResize;
  key?: string;
}

export async function decodeJpegPixels(
  stage: string,
  bytes: Uint8Array,
  settings: JpegSettings,
): Promise<Image<'uint8'>> {
  ensureSharpConfigured();
  const { channels, applyOrientation, resize, key } = settings;
  const header = readJpegHeader(bytes);
  if (header) checkJpegSize(stage, key, header, bytes.length);
  const components = header?.components ?? 3;
  if (components === 4 && channels === 1) {
    throw decodeError(
      stage,
      key,
      'it is a CMYK JPEG, which libjpeg (and so TF) cannot decode to 1 channel: decode to 3 channels and convert',
    );
  }
  let pipeline = sharp(bytes, { ...SHARP_INPUT, autoOrient: applyOrientation });
  // CMYK stays CMYK (TF's own conversion follows); otherwise no colour conversion happens at all.
  pipeline =
    components === 4
      ? pipeline.pipelineColourspace('cmyk').toColourspace('cmyk')
      : pipeline.toColourspace(components === 1 ? 'b-w' : 'srgb');
  if (resize) {
    const size = await jpegResizeTarget(stage, bytes, header, resize, applyOrientation, key);
    if (size) pipeline = pipeline.resize(size.width, size.height, { fit: 'fill' });
  }
  const { data, info } = await run(stage, key, bytes, pipeline.raw(), header);
  const pixels = info.width * info.height;
  const samples = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const shape = (c: number) => [info.height, info.width, c];
  if (info.channels === 4) return uint8(shape(3), cmykToRgb(samples, pixels, header?.adobe ?? false));
  if (info.channels === 1)
    return uint8(shape(channels === 3 ? 3 : 1), channels === 3 ? grayToRgb(samples, pixels) : samples);
  return uint8(shape(channels === 1 ? 1 : 3), channels === 1 ? rgbToLuma(samples, pixels) : samples);
}

/**
 * Refuses, before sharp allocates anything, a frame without pixels and one larger than its bytes
 * can hold (see jpegMaxPixels); sharp's own pixel limit stays on as well.
 */
function checkJpegSize(stage: string, key: string | undefined, header: JpegHeader, byteLength: number): void {
  const { width, height } = header;
  if (width === 0 || height === 0) {
    throw decodeError(stage, key, `its header declares ${width}x${height} pixels: an image without pixels`);
  }
  const max = jpegMaxPixels(header, byteLength);
  if (width * height > max && width * height <= PIXEL_LIMIT) {
    throw decodeError(
      stage,
      key,
      `its header declares ${width}x${height} pixels, more than its ${byteLength} bytes can hold (at most ${max} pixels, ${max / byteLength} per byte for ${header.arithmetic ? 'arithmetic' : 'Huffman'} coding): the header lies or the data is missing`,
    );
  }
}

async function jpegResizeTarget(
  stage: string,
  bytes: Uint8Array,
  header: JpegHeader | undefined,
  resize: JpegResize,
  applyOrientation: boolean,
  key: string | undefined,
): Promise<{ width: number; height: number } | undefined> {
  if (!('shrink' in resize)) return resize;
  if (resize.shrink === 1) return undefined;
  const { width, height } =
    applyOrientation || !header ? await orientedSize(stage, key, bytes, header) : header;
  return { width: Math.ceil(width / resize.shrink), height: Math.ceil(height / resize.shrink) };
}

/**
 * TF's CMYK->RGB (jpeg_mem.cc) on the stored samples s: with an Adobe marker R = s_K s_C / 255, else
 * (255 - s_K)(255 - s_C) / 255, truncated. libvips hands over 255 - s for every CMYK JPEG.
 */
function cmykToRgb(inverted: Uint8Array, pixels: number, adobe: boolean): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  const flip = adobe ? 255 : 0;
  for (let i = 0, s = 0, d = 0; i < pixels; i++, s += 4, d += 3) {
    const k = flip ^ inverted[s + 3];
    rgb[d] = ((k * (flip ^ inverted[s])) / 255) | 0;
    rgb[d + 1] = ((k * (flip ^ inverted[s + 1])) / 255) | 0;
    rgb[d + 2] = ((k * (flip ^ inverted[s + 2])) / 255) | 0;
  }
  return rgb;
}

function grayToRgb(gray: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0, d = 0; i < pixels; i++, d += 3) {
    const v = gray[i];
    rgb[d] = v;
    rgb[d + 1] = v;
    rgb[d + 2] = v;
  }
  return rgb;
}

/** libjpeg's RGB->Y (jccolor.c fixed point, 16 fraction bits, rounded). */
function rgbToLuma(rgb: Uint8Array, pixels: number): Uint8Array {
  const y = new Uint8Array(pixels);
  for (let i = 0, s = 0; i < pixels; i++, s += 3) {
    y[i] = (19595 * rgb[s] + 38470 * rgb[s + 1] + 7471 * rgb[s + 2] + 32768) >> 16;
  }
  return y;
}

/** Width and height after EXIF orientation (5..8 swap the axes), from sharp's header read. */
async function orientedSize(
  stage: string,
  key: string | undefined,
  bytes: Uint8Array,
  header: JpegHeader | undefined,
): Promise<{ width: number; height: number }> {
  try {
    const { autoOrient } = await sharp(bytes, SHARP_INPUT).metadata();
    return autoOrient;
  } catch (err) {
    throw decodeError(stage, key, explainSharpError(err, bytes, header), err);
  }
}

function resizeOption(stage: string, value: unknown): JpegResize | undefined {
  if (value === undefined) return undefined;
  const resize = objectOption(stage, 'resize', value);
  if ('shrink' in resize) {
    if ('height' in resize || 'width' in resize) {
      throw invalidArgument('resize', '{ height, width } or { shrink }, not both', value, stage);
    }
    const shrink = resize.shrink;
    if (shrink !== 1 && shrink !== 2 && shrink !== 4 && shrink !== 8) {
      throw invalidArgument('resize.shrink', 'one of 1, 2, 4, 8', shrink, stage);
    }
    return { shrink };
  }
  const range = { min: 1, max: MAX_RESIZE };
  return {
    height: integerOption(stage, 'resize.height', resize.height, range),
    width: integerOption(stage, 'resize.width', resize.width, range),
  };
}
