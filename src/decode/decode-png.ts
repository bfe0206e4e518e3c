import sharp from 'sharp';
import { DecodeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { objectOption, oneOfOption } from '../core/validate.js';
import type { Image } from '../image/image.js';
import {
  channelsOption,
  checkBytes,
  decodeError,
  keyOption,
  mapUint8,
  notFormat,
  PIXEL_LIMIT,
  run,
  SHARP_INPUT,
  uint8,
} from './decode-common.js';
import { ensureSharpConfigured } from './sharp-config.js';
import { findBadPngChunk, type PngHeader, pngRowsFit, readPngHeader, sniffFormat } from './sniff-format.js';

export interface DecodePngOptions {
  /** 0: as stored (palette: 3, or 4 with transparency); 1: gray; 3: RGB; 4: RGBA. Default 0. */
  channels?: 0 | 1 | 3 | 4;
  /** uint8 (16-bit samples >> 8, as libpng's strip_16) or uint16 (8-bit samples x 257). */
  dtype?: 'uint8' | 'uint16';
  key?: string;
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

export async function decodePngPixels(
  stage: string,
  bytes: Uint8Array,
  channels: 0 | 1 | 3 | 4,
  dtype: 'uint8' | 'uint16',
  key: string | undefined,
): Promise<Image<'uint8'> | Tensor<'uint16'>> {
  ensureSharpConfigured();
  const header = readPngHeader(bytes);
  if (!header) throw decodeError(stage, key, 'its PNG header (the IHDR chunk) is missing or truncated');
  checkPngSize(stage, key, header, bytes.length);
  checkPngChunks(stage, key, bytes);
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

/**
 * Refuses, before sharp allocates anything, an image without pixels and rows that cannot fit in
 * the bytes (see pngRowsFit); images over sharp's pixel limit are left to its own message.
 */
function checkPngSize(stage: string, key: string | undefined, header: PngHeader, byteLength: number): void {
  const { width, height } = header;
  if (width === 0 || height === 0) {
    throw decodeError(stage, key, `its header declares ${width}x${height} pixels: an image without pixels`);
  }
  if (width * height <= PIXEL_LIMIT && !pngRowsFit(header, byteLength)) {
    throw decodeError(
      stage,
      key,
      `its header declares ${width}x${height} pixels, more than its ${byteLength} bytes can hold (deflate expands at most 1032:1): the header lies or the data is missing`,
    );
  }
}

/** A critical chunk with a bad CRC fails, as in libpng (TF); the error carries the chunk's offset. */
function checkPngChunks(stage: string, key: string | undefined, bytes: Uint8Array): void {
  const fault = findBadPngChunk(bytes);
  if (!fault) return;
  const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  const error = decodeError(
    stage,
    key,
    `the data is corrupt: the CRC of its ${fault.type} chunk at byte ${fault.offset} is ${hex(fault.stored)}, not ${hex(fault.computed)}`,
  );
  throw new DecodeError(error.message, { key, stage, parameter: 'bytes', offset: fault.offset });
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

/** sharp returns its own (aligned) allocation, so the samples can be viewed in place. */
function uint16View(data: Buffer): Uint16Array {
  return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
}
