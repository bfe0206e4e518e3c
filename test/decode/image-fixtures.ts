import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { CounterRng } from '../../src/core/rng.js';

/**
 * Test images generated on the fly (nothing binary is committed): photo-like pixels, encoders that go
 * straight to sharp (so decode tests do not depend on our encoders), a byte-level PNG writer for the
 * layouts sharp cannot write (1/2/4-bit gray, tRNS on gray/RGB), and helpers to read PNM and edit JPEGs.
 */

/** Smooth gradients plus mild noise: compresses like a photo, so JPEG errors stay small. */
export function photoLike(height: number, width: number, channels: number, seed = 1): Uint8Array {
  const rng = new CounterRng(seed, 'test');
  const out = new Uint8Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const base = 40 + (150 * (c % 2 === 0 ? x : y)) / Math.max(1, c % 2 === 0 ? width : height) + 20 * c;
        out[(y * width + x) * channels + c] = Math.max(
          0,
          Math.min(255, Math.round(base + 8 * (rng.uniform() - 0.5))),
        );
      }
    }
  }
  return out;
}

/** Uniformly random samples (worst case for JPEG, any values for PNG). */
export function randomSamples(length: number, max: number, seed = 2): number[] {
  const rng = new CounterRng(seed, 'test');
  return Array.from({ length }, () => rng.below(max + 1));
}

export function rawSharp(
  data: Uint8Array | Uint16Array,
  height: number,
  width: number,
  channels: 1 | 2 | 3 | 4,
) {
  const deep = data instanceof Uint16Array;
  const gray = channels <= 2;
  return sharp(data, { raw: { width, height, channels } }).toColourspace(
    gray ? (deep ? 'grey16' : 'b-w') : deep ? 'rgb16' : 'srgb',
  );
}

export async function sharpJpeg(
  data: Uint8Array,
  height: number,
  width: number,
  channels: 1 | 3,
  options: sharp.JpegOptions = {},
): Promise<Uint8Array> {
  return new Uint8Array(
    await rawSharp(data, height, width, channels)
      .jpeg({ quality: 92, ...options })
      .toBuffer(),
  );
}

export async function sharpPng(
  data: Uint8Array | Uint16Array,
  height: number,
  width: number,
  channels: 1 | 2 | 3 | 4,
  options: sharp.PngOptions = {},
): Promise<Uint8Array> {
  return new Uint8Array(await rawSharp(data, height, width, channels).png(options).toBuffer());
}

// ---------------------------------------------------------------------------------------------------
// A minimal PNG writer (unfiltered rows), for layouts sharp does not write.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngSpec {
  width: number;
  height: number;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Row-major samples (palette indices for colour type 3). */
  samples: readonly number[];
  palette?: readonly number[];
  /** Raw tRNS chunk bytes. */
  trns?: readonly number[];
}

export function makePng(spec: PngSpec): Uint8Array {
  const { width, height, bitDepth, colorType, samples } = spec;
  const perRow = width * SAMPLES_PER_PIXEL[colorType];
  const rowBytes = Math.ceil((perRow * bitDepth) / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const base = y * (rowBytes + 1) + 1;
    for (let x = 0; x < perRow; x++) {
      const v = samples[y * perRow + x];
      if (bitDepth === 16) raw.writeUInt16BE(v, base + 2 * x);
      else if (bitDepth === 8) raw[base + x] = v;
      else {
        const bit = x * bitDepth;
        raw[base + (bit >> 3)] |= v << (8 - bitDepth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const parts = [PNG_SIGNATURE, pngChunk('IHDR', ihdr)];
  if (spec.palette) parts.push(pngChunk('PLTE', Uint8Array.from(spec.palette)));
  if (spec.trns) parts.push(pngChunk('tRNS', Uint8Array.from(spec.trns)));
  parts.push(pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0)));
  return new Uint8Array(Buffer.concat(parts));
}

/** A PNG whose header declares width x height RGB pixels but holds only a few rows of data. */
export function pngBomb(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const rows = deflateSync(Buffer.alloc(4 * (1 + Math.min(width, 4096) * 3)));
  return new Uint8Array(
    Buffer.concat([
      PNG_SIGNATURE,
      pngChunk('IHDR', ihdr),
      pngChunk('IDAT', rows),
      pngChunk('IEND', new Uint8Array(0)),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------------
// JPEG editing

/** Offset of the first segment with this marker (pointing at its 0xFF), or -1. Stops at SOS. */
export function findJpegSegment(bytes: Uint8Array, marker: number): number {
  let i = 2;
  while (i + 4 <= bytes.length && bytes[i] === 0xff) {
    const m = bytes[i + 1];
    if (m === marker) return i;
    if (m === 0xda) return -1;
    i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  return -1;
}

/** The JPEG without its first segment with this marker (e.g. 0xEE, the Adobe APP14 segment). */
export function withoutJpegSegment(bytes: Uint8Array, marker: number): Uint8Array {
  const at = findJpegSegment(bytes, marker);
  if (at < 0) throw new Error(`no segment FF${marker.toString(16).toUpperCase()}`);
  const length = 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + length)]);
}

/** A copy with the frame header's height and width replaced (e.g. a decompression bomb). */
export function withJpegDimensions(bytes: Uint8Array, height: number, width: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = [0xc0, 0xc1, 0xc2].map((m) => findJpegSegment(out, m)).find((i) => i >= 0);
  if (at === undefined) throw new Error('no SOF0/1/2 segment');
  out[at + 5] = height >> 8;
  out[at + 6] = height & 0xff;
  out[at + 7] = width >> 8;
  out[at + 8] = width & 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// PNM (djpeg's output) and comparisons

export interface Pnm {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Parses binary PGM (P5) / PPM (P6) with maxval 255. */
export function parsePnm(bytes: Uint8Array): Pnm {
  let pos = 0;
  const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
  const token = (): string => {
    while (isSpace(bytes[pos])) pos++;
    if (bytes[pos] === 0x23) {
      while (bytes[pos] !== 0x0a) pos++;
      return token();
    }
    const start = pos;
    while (pos < bytes.length && !isSpace(bytes[pos])) pos++;
    return Buffer.from(bytes.subarray(start, pos)).toString('latin1');
  };
  const magic = token();
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  pos++;
  if ((magic !== 'P5' && magic !== 'P6') || maxval !== 255)
    throw new Error(`unsupported PNM ${magic} ${maxval}`);
  const channels = magic === 'P6' ? 3 : 1;
  const data = bytes.subarray(pos, pos + width * height * channels);
  if (data.length !== width * height * channels) throw new Error('short PNM');
  return { width, height, channels, data };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** Share of samples that differ by more than `tolerance`. */
export function fractionOver(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > tolerance) n++;
  return n / a.length;
}
