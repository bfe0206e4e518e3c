/**
 * What image bytes are, read from their first bytes and headers without decoding: the format (from
 * magic bytes, never a file name, as TF's `decode_image` does), a short description for error
 * messages, and the few header facts the decoders need before decoding (JPEG component count, PNG
 * bit depth, colour type and transparency), including the most pixels the bytes can really hold, so
 * that a lying header is refused before anything is allocated for it.
 */
import zlib from 'node:zlib';

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'bmp' | 'webp' | 'tiff' | 'heif';

const FORMAT_NAMES: Record<ImageFormat, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  gif: 'GIF',
  bmp: 'BMP',
  webp: 'WebP',
  tiff: 'TIFF',
  heif: 'HEIF/AVIF',
};

export function formatName(format: ImageFormat): string {
  return FORMAT_NAMES[format];
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** The format named by the magic bytes, or undefined when none is recognised. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47])) return 'png';
  if (startsWith(bytes, ascii('GIF8'))) return 'gif';
  if (startsWith(bytes, ascii('BM'))) return 'bmp';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return 'tiff';
  if (startsWith(bytes, ascii('ftyp'), 4)) return 'heif';
  return undefined;
}

/** A short description of what the bytes look like, for error messages. */
export function describeBytes(bytes: Uint8Array): string {
  const size = `${bytes.length} byte${bytes.length === 1 ? '' : 's'}`;
  if (bytes.length === 0) return 'empty bytes (0 bytes)';
  const format = sniffFormat(bytes);
  if (format) return `${formatName(format)} image bytes (${size})`;
  const head = bytes.subarray(0, 48);
  if (looksLikeText(head)) {
    const text = new TextDecoder().decode(head).replace(/\s+/g, ' ').trim();
    return `text (${size}) starting ${JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}...` : text)}`;
  }
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0').toUpperCase());
  return `${size} in no recognised image format, starting ${hex.join(' ')}`;
}

function looksLikeText(head: Uint8Array): boolean {
  for (const b of head) {
    const printable = (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d || b >= 0x80;
    if (!printable) return false;
  }
  // Valid UTF-8 (a multi-byte character cut at the end is fine).
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

export interface JpegHeader {
  width: number;
  height: number;
  /** 1 for grayscale, 3 for YCbCr/RGB, 4 for CMYK/YCCK. */
  components: number;
  /** An Adobe APP14 segment (libjpeg's saw_Adobe_marker): TF reads its CMYK as inverted. */
  adobe: boolean;
  /** Arithmetic coding (SOF9..SOF15) rather than Huffman (SOF0..SOF7). */
  arithmetic: boolean;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP14 = 0xee;

/** True for the start-of-frame markers SOF0..SOF15, which are C0..CF except DHT, JPG and DAC. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Reads the frame header (SOFn) and the Adobe flag from the segments before the first scan, skipping
 * what libjpeg skips (garbage before a marker, 0xFF fill bytes). Undefined without a frame header.
 */
export function readJpegHeader(bytes: Uint8Array): JpegHeader | undefined {
  const n = bytes.length;
  if (!startsWith(bytes, [0xff, SOI])) return undefined;
  let frame: Omit<JpegHeader, 'adobe'> | undefined;
  let adobe = false;
  let i = 2;
  while (i < n) {
    while (i < n && bytes[i] !== 0xff) i++;
    while (i < n && bytes[i] === 0xff) i++;
    if (i >= n) break;
    const marker = bytes[i++];
    // Standalone markers carry no length.
    if (marker === SOI || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === EOI || marker === SOS || i + 2 > n) break;
    const length = (bytes[i] << 8) | bytes[i + 1];
    if (length < 2) break;
    if (isStartOfFrame(marker) && !frame) {
      if (length < 8 || i + 8 > n) return undefined;
      frame = {
        height: (bytes[i + 3] << 8) | bytes[i + 4],
        width: (bytes[i + 5] << 8) | bytes[i + 6],
        components: bytes[i + 7],
        arithmetic: marker >= 0xc9,
      };
    } else if (marker === APP14 && length - 2 >= 12 && startsWith(bytes, ascii('Adobe'), i + 2)) {
      adobe = true;
    }
    i += length;
  }
  return frame && { ...frame, adobe };
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  /** A tRNS chunk before the image data (transparency for gray, RGB or palette images). */
  hasTransparency: boolean;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function chunkTypeIs(bytes: Uint8Array, at: number, type: string): boolean {
  return startsWith(bytes, ascii(type), at);
}

/** Reads a PNG's IHDR and looks for tRNS among the chunks before IDAT. Undefined without a valid IHDR. */
export function readPngHeader(bytes: Uint8Array): PngHeader | undefined {
  if (!startsWith(bytes, PNG_SIGNATURE) || bytes.length < 33) return undefined;
  if (readUint32(bytes, 8) !== 13 || !chunkTypeIs(bytes, 12, 'IHDR')) return undefined;
  const header: PngHeader = {
    width: readUint32(bytes, 16),
    height: readUint32(bytes, 20),
    bitDepth: bytes[24],
    colorType: bytes[25],
    hasTransparency: false,
  };
  let at = 33;
  while (at + 8 <= bytes.length) {
    if (chunkTypeIs(bytes, at + 4, 'IDAT') || chunkTypeIs(bytes, at + 4, 'IEND')) break;
    if (chunkTypeIs(bytes, at + 4, 'tRNS')) {
      header.hasTransparency = true;
      break;
    }
    at += 12 + readUint32(bytes, at);
  }
  return header;
}

/**
 * The most pixels `byteLength` bytes of a complete JPEG can hold, or Infinity when nothing bounds it.
 * Huffman coding spends at least one bit on the DC coefficient of every 8x8 block of the largest
 * component, so a complete image has at most 64 x 8 = 512 pixels per byte; libjpeg fills what is
 * missing with grey (a warning, not an error), so a 1 KB file declaring 16000x16000 would decode to
 * 768 MB. Arithmetic coding adapts and can spend far less than a bit on a flat block, so it gets a
 * bound 64 times looser (32,768 pixels per byte, ~0.016 bit per 8x8 block): generous for real images
 * (a flat 4000x3000 arithmetic JPEG still takes kilobytes), yet a 265-byte file can no longer claim
 * 12000x12000 (412 MB).
 */
export function jpegMaxPixels(header: JpegHeader, byteLength: number): number {
  return (header.arithmetic ? JPEG_ARITHMETIC_PIXELS_PER_BYTE : JPEG_HUFFMAN_PIXELS_PER_BYTE) * byteLength;
}

export const JPEG_HUFFMAN_PIXELS_PER_BYTE = 512;
export const JPEG_ARITHMETIC_PIXELS_PER_BYTE = 32_768;

const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Deflate's largest expansion: 258 bytes from a 2-bit code, 1032:1 (RFC 1951). */
const DEFLATE_MAX_RATIO = 1032;

/**
 * Whether a PNG of `byteLength` bytes can hold the filtered rows its header declares (each row is a
 * filter byte and its packed samples): no deflate stream expands more than 1032:1.
 */
export function pngRowsFit(header: PngHeader, byteLength: number): boolean {
  const bitsPerPixel = Math.max(1, (PNG_SAMPLES[header.colorType] ?? 1) * header.bitDepth);
  const rowBytes = 1 + Math.ceil((header.width * bitsPerPixel) / 8);
  return header.height * rowBytes <= DEFLATE_MAX_RATIO * byteLength;
}

/** A critical PNG chunk whose stored CRC does not match its bytes. */
export interface PngChunkFault {
  type: string;
  /** Byte offset of the chunk (its length field). */
  offset: number;
  stored: number;
  computed: number;
}

/**
 * The first critical chunk (IHDR, PLTE, IDAT, IEND...) whose CRC does not match, as libpng (and so
 * TF) checks them; libspng leaves the last IDAT's unchecked. Ancillary chunks are not checked (libpng
 * only warns about them); a chunk cut off by the end of the bytes is left to the decoder (truncated).
 */
export function findBadPngChunk(bytes: Uint8Array): PngChunkFault | undefined {
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = readUint32(bytes, at);
    const end = at + 12 + length;
    if (end > bytes.length) return undefined;
    const critical = (bytes[at + 4] & 0x20) === 0;
    if (critical) {
      const stored = readUint32(bytes, end - 4);
      const computed = crc32(bytes.subarray(at + 4, end - 4));
      if (stored !== computed) {
        const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
        return { type, offset: at, stored, computed };
      }
    }
    if (chunkTypeIs(bytes, at + 4, 'IEND')) return undefined;
    at = end;
  }
  return undefined;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (the PNG and zlib one): Node's native one where it exists (Node >= 20.15). */
function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(bytes);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
