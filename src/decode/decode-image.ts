import sharp from 'sharp';
import { DecodeError, invalidArgument } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { booleanOption, integerOption, objectOption, oneOfOption } from '../core/validate.js';
import type { Image } from '../image/image.js';
import { ensureSharpConfigured } from './sharp-config.js';
import {
  describeBytes,
  type JpegHeader,
  type PngHeader,
  readJpegHeader,
  readPngHeader,
  sniffFormat,
} from './sniff-format.js';

/**
 * TF's `decode_jpeg`, `decode_png` and `decode_image` on sharp (libvips with libjpeg-turbo/mozjpeg and
 * libspng). sharp decodes; the channel rules TF gets from libjpeg/libpng transforms are applied here
 * on the raw samples, so results follow TF, not sharp's sRGB-centred defaults:
 * - JPEG pixels equal libjpeg-turbo's accurate integer IDCT (`djpeg -dct int`); TF's default is the
 *   fast IDCT, which differs by a few levels (docs/image-decode.md).
 * - CMYK/YCCK JPEGs get TF's integer CMYK->RGB, not an ICC conversion; embedded ICC profiles and
 *   EXIF orientation are ignored, as in TF (orientation on request).
 * - A colour JPEG decoded to 1 channel gets the Rec.601 luma of the decoded RGB, which is libjpeg's Y
 *   within 1 except where the RGB was clamped (saturated colours): sharp cannot return the Y plane.
 * - Truncated data fails (TF's default `acceptable_fraction=1`); libjpeg's recoverable "corrupt data"
 *   warnings do not, as in TF. sharp's pixel limit (0x3FFF^2 pixels) guards against bombs.
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

export interface DecodePngOptions {
  /** 0: as stored (palette: 3, or 4 with transparency); 1: gray; 3: RGB; 4: RGBA. Default 0. */
  channels?: 0 | 1 | 3 | 4;
  /** uint8 (16-bit samples >> 8, as libpng's strip_16) or uint16 (8-bit samples x 257). */
  dtype?: 'uint8' | 'uint16';
  key?: string;
}

export interface DecodeImageOptions {
  /** As decodePng; JPEG accepts 0, 1 or 3. Default 0. */
  channels?: 0 | 1 | 3 | 4;
  /** Output dtype via TF's convert_image_dtype (PNGs decode to uint16 first unless uint8). */
  dtype?: 'uint8' | 'uint16' | 'float32';
  key?: string;
}

// 'error' fails on truncation and on bad PNG checksums (as libpng), not on libjpeg's recoverable
// corrupt-data warnings (TF decodes those too).
const SHARP_INPUT = { failOn: 'error', ignoreIcc: true } as const;
const PIXEL_LIMIT = 0x3fff * 0x3fff;
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

/**
 * TF's `decode_png`: uint8 (or uint16) [H, W, channels] with libpng's channel transforms as TF sets
 * them up. Not-PNG, truncated or corrupt bytes and oversized images reject with a DecodeError.
 */
export function decodePng(
  bytes: Uint8Array,
  options: DecodePngOptions & { dtype: 'uint16' },
): Promise<Tensor<'uint16'>>;
export function decodePng(
  bytes: Uint8Array,
  options?: DecodePngOptions & { dtype?: 'uint8' },
): Promise<Image<'uint8'>>;
export function decodePng(
  bytes: Uint8Array,
  options?: DecodePngOptions,
): Promise<Image<'uint8'> | Tensor<'uint16'>>;
export async function decodePng(
  bytes: Uint8Array,
  options: DecodePngOptions = {},
): Promise<Image<'uint8'> | Tensor<'uint16'>> {
  const stage = 'decodePng';
  checkBytes(stage, bytes);
  const opts = objectOption(stage, 'options', options);
  const channels = channelsOption(stage, opts.channels, [0, 1, 3, 4]);
  const dtype = oneOfOption(stage, 'dtype', opts.dtype, ['uint8', 'uint16'] as const, 'uint8');
  const key = keyOption(stage, opts.key);
  if (sniffFormat(bytes) !== 'png') throw notFormat(stage, 'PNG bytes (starting 89 50 4E 47)', bytes, key);
  return decodePngPixels(stage, bytes, channels, dtype, key);
}

/**
 * TF1's `decode_image`: the format comes from the magic bytes (a PNG named .jpg decodes as PNG), then
 * `convert_image_dtype` to `dtype`. JPEG and PNG are supported; GIF, BMP and others are named in the
 * error. Unlike TF, a JPEG with `channels: 4` fails as a DecodeError rather than an assertion.
 */
export function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions & { dtype: 'uint16' },
): Promise<Tensor<'uint16'>>;
export function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions & { dtype: 'float32' },
): Promise<Image<'float32'>>;
export function decodeImage(
  bytes: Uint8Array,
  options?: DecodeImageOptions & { dtype?: 'uint8' },
): Promise<Image<'uint8'>>;
export function decodeImage(
  bytes: Uint8Array,
  options?: DecodeImageOptions,
): Promise<Tensor<'uint8' | 'uint16' | 'float32'>>;
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<Tensor<'uint8' | 'uint16' | 'float32'>> {
  const stage = 'decodeImage';
  checkBytes(stage, bytes);
  const opts = objectOption(stage, 'options', options);
  const channels = channelsOption(stage, opts.channels, [0, 1, 3, 4]);
  const dtype = oneOfOption(stage, 'dtype', opts.dtype, ['uint8', 'uint16', 'float32'] as const, 'uint8');
  const key = keyOption(stage, opts.key);
  const format = sniffFormat(bytes);
  if (format === 'jpeg') {
    if (channels === 4) {
      throw decodeError(stage, key, 'it is a JPEG, which decodes to 1 or 3 channels, not 4 (TF fails too)');
    }
    const image = await decodeJpegPixels(stage, bytes, { channels, applyOrientation: false, key });
    // convert_image_dtype from uint8: widening multiplies by 65536 / 256, floats scale by 1/255.
    if (dtype === 'uint16') return mapUint8(image, new Uint16Array(image.data.length), 'uint16', 256);
    if (dtype === 'float32') return toUnitFloat(image, 255);
    return image;
  }
  if (format === 'png') {
    const image = await decodePngPixels(stage, bytes, channels, dtype === 'uint8' ? 'uint8' : 'uint16', key);
    if (dtype === 'float32') return toUnitFloat(image as Tensor<'uint16'>, 65535);
    return image;
  }
  throw notFormat(stage, 'JPEG or PNG bytes (the formats decodeImage supports)', bytes, key);
}

// ---------------------------------------------------------------------------------------------------
// JPEG

interface JpegSettings {
  channels: 0 | 1 | 3;
  applyOrientation: boolean;
  resize?: JpegResize;
  key?: string;
}

async function decodeJpegPixels(
  stage: string,
  bytes: Uint8Array,
  settings: JpegSettings,
): Promise<Image<'uint8'>> {
  ensureSharpConfigured();
  const { channels, applyOrientation, resize, key } = settings;
  const header = readJpegHeader(bytes);
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

// ---------------------------------------------------------------------------------------------------
// PNG

async function decodePngPixels(
  stage: string,
  bytes: Uint8Array,
  channels: 0 | 1 | 3 | 4,
  dtype: 'uint8' | 'uint16',
  key: string | undefined,
): Promise<Image<'uint8'> | Tensor<'uint16'>> {
  ensureSharpConfigured();
  const header = readPngHeader(bytes);
  if (!header) throw decodeError(stage, key, 'its PNG header (the IHDR chunk) is missing or truncated');
  const sixteenBit = header.bitDepth === 16;
  const grayType = header.colorType === 0 || header.colorType === 4;
  // Ask sharp for the stored layout: without an explicit colourspace it widens gray to sRGB and
  // narrows 16 bits to 8. Gray with tRNS goes through sRGB (replicated) to keep its alpha.
  let pipeline = sharp(bytes, SHARP_INPUT);
  if (sixteenBit) pipeline = pipeline.toColourspace(grayType ? 'grey16' : 'rgb16');
  else pipeline = pipeline.toColourspace(header.colorType === 0 && !header.hasTransparency ? 'b-w' : 'srgb');
  const { data, info } = await run(
    stage,
    key,
    bytes,
    pipeline.raw({ depth: sixteenBit ? 'ushort' : 'uchar' }),
    header,
  );
  const pixels = info.width * info.height;
  const outChannels = channels === 0 ? storedPngChannels(header) : channels;
  const shape = [info.height, info.width, outChannels];
  if (sixteenBit) {
    const samples = uint16View(data);
    const converted = convertPngChannels(samples, pixels, info.channels, outChannels, 65535, gray16);
    if (dtype === 'uint16') return { dtype, shape, data: converted };
    const out = new Uint8Array(converted.length);
    for (let i = 0; i < converted.length; i++) out[i] = converted[i] >> 8;
    return uint8(shape, out);
  }
  const samples = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const converted = convertPngChannels(samples, pixels, info.channels, outChannels, 255, gray8);
  if (dtype === 'uint8') return uint8(shape, converted);
  // TF's Convert8to16: (v << 8) | v.
  return mapUint8(uint8(shape, converted), new Uint16Array(converted.length), 'uint16', 257);
}

/** TF's channel count for `channels: 0` (palette images count their tRNS as alpha). */
function storedPngChannels(header: PngHeader): 1 | 2 | 3 | 4 {
  switch (header.colorType) {
    case 0:
      return 1;
    case 4:
      return 2;
    case 3:
      return header.hasTransparency ? 4 : 3;
    case 6:
      return 4;
    default:
      return 3;
  }
}

/** libpng's rgb_to_gray with TF's coefficients (0.299, 0.587 -> 9797, 19234, 3737 / 32768), 8-bit: truncated. */
function gray8(r: number, g: number, b: number): number {
  return r === g && r === b ? r : (9797 * r + 19234 * g + 3737 * b) >>> 15;
}

/** The same for 16-bit samples, which libpng rounds. */
function gray16(r: number, g: number, b: number): number {
  return (9797 * r + 19234 * g + 3737 * b + 16384) >>> 15;
}

/**
 * libpng's transforms as TF requests them: alpha stripped (not composited) or added opaque, gray
 * replicated to RGB, RGB reduced to gray. `from`/`to` are channel counts 1..4.
 */
function convertPngChannels<T extends Uint8Array | Uint16Array>(
  src: T,
  pixels: number,
  from: number,
  to: number,
  opaque: number,
  toGray: (r: number, g: number, b: number) => number,
): T {
  if (from === to) return src;
  const out = (src instanceof Uint16Array ? new Uint16Array(pixels * to) : new Uint8Array(pixels * to)) as T;
  const srcColor = from >= 3;
  const srcAlpha = from === 2 || from === 4;
  const dstColor = to >= 3;
  const dstAlpha = to === 2 || to === 4;
  for (let i = 0, s = 0, d = 0; i < pixels; i++, s += from, d += to) {
    const r = src[s];
    const g = srcColor ? src[s + 1] : r;
    const b = srcColor ? src[s + 2] : r;
    if (dstColor) {
      out[d] = r;
      out[d + 1] = g;
      out[d + 2] = b;
    } else {
      out[d] = srcColor ? toGray(r, g, b) : r;
    }
    if (dstAlpha) out[d + to - 1] = srcAlpha ? src[s + from - 1] : opaque;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Shared helpers

function uint8(shape: number[], data: Uint8Array): Image<'uint8'> {
  return { dtype: 'uint8', shape, data };
}

function mapUint8(
  image: Image<'uint8'>,
  out: Uint16Array,
  dtype: 'uint16',
  factor: number,
): Tensor<'uint16'> {
  const src = image.data;
  for (let i = 0; i < src.length; i++) out[i] = src[i] * factor;
  return { dtype, shape: image.shape, data: out };
}

/** convert_image_dtype integer -> float32: x * float32(1 / max), rounded to float32. */
function toUnitFloat(image: Tensor<'uint8' | 'uint16'>, max: number): Image<'float32'> {
  const scale = Math.fround(1 / max);
  const out = new Float32Array(image.data.length);
  const src = image.data;
  for (let i = 0; i < src.length; i++) out[i] = src[i] * scale;
  return { dtype: 'float32', shape: image.shape, data: out };
}

/** sharp returns its own (aligned) allocation, so the samples can be viewed in place. */
function uint16View(data: Buffer): Uint16Array {
  return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
}

interface RawResult {
  data: Buffer;
  info: sharp.OutputInfo;
}

/** Runs a sharp pipeline to raw samples, turning its errors into DecodeErrors. */
async function run(
  stage: string,
  key: string | undefined,
  bytes: Uint8Array,
  pipeline: sharp.Sharp,
  header: { width: number; height: number } | undefined,
): Promise<RawResult> {
  try {
    return await pipeline.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeError(stage, key, explainSharpError(err, bytes, header), err);
  }
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

function explainSharpError(
  err: unknown,
  bytes: Uint8Array,
  header: { width: number; height: number } | undefined,
): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    const declared = header ? `declares ${header.width}x${header.height} pixels, ` : 'declares ';
    return `its header ${declared}more than sharp's limit of ${PIXEL_LIMIT} pixels (a guard against decompression bombs)`;
  }
  if (/premature end|end of stream|truncated|unexpected end|out of data/i.test(message)) {
    return `the data is truncated: the ${describeBytes(bytes)} end before the image does (libvips: ${message})`;
  }
  return `the data is corrupt (libvips: ${message})`;
}

function decodeError(stage: string, key: string | undefined, reason: string, cause?: unknown): DecodeError {
  return new DecodeError(`${stage}: Cannot decode ${subject(key)}: ${reason}`, {
    key,
    stage,
    parameter: 'bytes',
    cause,
  });
}

function notFormat(stage: string, expected: string, bytes: Uint8Array, key: string | undefined): DecodeError {
  return new DecodeError(
    `${stage}: Expected ${expected} for ${subject(key)} but received ${describeBytes(bytes)}`,
    {
      key,
      stage,
      parameter: 'bytes',
    },
  );
}

function subject(key: string | undefined): string {
  return key === undefined ? 'bytes' : JSON.stringify(key);
}

function checkBytes(stage: string, bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array))
    throw invalidArgument('bytes', 'a Uint8Array (or Buffer)', bytes, stage);
}

function keyOption(stage: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string')
    throw invalidArgument('key', 'a string', value, stage);
  return value;
}

function channelsOption<C extends number>(stage: string, value: unknown, allowed: readonly C[]): C {
  if (value === undefined) return 0 as C;
  if (!allowed.includes(value as C))
    throw invalidArgument('channels', `one of ${allowed.join(', ')}`, value, stage);
  return value as C;
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
