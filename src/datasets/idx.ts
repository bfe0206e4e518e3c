import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DecodeError, InputError, TruncatedRecordError } from '../core/errors.js';
import { fileError, openRegularFile } from '../readers/file-errors.js';

/** IDX magic numbers (big-endian u32 at offset 0): 0x08 = unsigned bytes, then the rank. */
export const IDX_UBYTE_RANK1_MAGIC = 0x00000801;
export const IDX_UBYTE_RANK3_MAGIC = 0x00000803;

export interface IdxHeader {
  /** The header bytes (`4 * (rank + 1)` of them), decompressed. */
  bytes: Uint8Array;
  /** The file's size on disk for a plain file; undefined for a gzipped one (unknown without reading it all). */
  fileSize: number | undefined;
  /** A gzipped file's size on disk (what it can inflate to is bounded by MAX_INFLATE_RATIO times it). */
  compressedSize?: number;
}

/**
 * Deflate's best ratio is 1032:1 (a run of one byte), so no gzip file inflates to more than this many
 * times its size: a header declaring more data than that is lying, whatever the file holds.
 */
export const MAX_INFLATE_RATIO = 1032;

/**
 * The largest IDX record (one image, `rows * cols` bytes) accepted: 256 MiB. A header declaring more
 * is refused before anything is allocated (a record is held whole while it is read).
 */
export const MAX_IDX_RECORD_BYTES = 1 << 28;

/** Renders a u32 as `0x` and eight hex digits. */
export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Reads the first `headerBytes` bytes of an IDX file without reading the rest: one positional read
 * for a plain file, a streaming gunzip stopped as soon as the header is in for a `.gz` one. A file
 * shorter than the header raises a TruncatedRecordError naming it.
 */
export async function readIdxHeader(
  file: string,
  headerBytes: number,
  gzip: boolean,
  stage: string,
): Promise<IdxHeader> {
  const got: IdxHeader = gzip
    ? {
        bytes: await readGzipPrefix(file, headerBytes, stage),
        fileSize: undefined,
        compressedSize: await sizeOf(file, stage),
      }
    : await readPlainPrefix(file, headerBytes, stage);
  if (got.bytes.length < headerBytes) {
    throw new TruncatedRecordError(
      `${stage}: Expected a ${headerBytes}-byte IDX header in ${JSON.stringify(file)} but the ` +
        `${gzip ? 'decompressed ' : ''}file has only ${got.bytes.length} bytes`,
      { file, offset: got.bytes.length, stage, parameter: 'path' },
    );
  }
  return got;
}

/** Reads the big-endian u32 at `offset`. */
export function u32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

/** Raises a DecodeError naming the file, offset 0 and both magics when they differ. */
export function checkMagic(
  file: string,
  header: Uint8Array,
  expected: number,
  what: string,
  stage: string,
): void {
  const actual = u32(header, 0);
  if (actual !== expected) {
    throw new DecodeError(
      `${stage}: Expected IDX magic number ${hex32(expected)} (${what}) at byte offset 0 of ` +
        `${JSON.stringify(file)} but found ${hex32(actual)}`,
      { file, offset: 0, stage, parameter: 'path' },
    );
  }
}

/**
 * Checks what the header declares (`count` records of `recordBytes` after `headerBytes`) against the
 * file before a record is read or allocated: a record over MAX_IDX_RECORD_BYTES is a DecodeError; a
 * plain file must be exactly that size (shorter: TruncatedRecordError, longer: DecodeError); a
 * gzipped one cannot hold more than MAX_INFLATE_RATIO times its size (DecodeError). Each names the
 * file and the declared and actual sizes.
 */
export function checkIdxSize(
  file: string,
  header: IdxHeader,
  headerBytes: number,
  count: number,
  recordBytes: number,
  stage: string,
): void {
  const declared = `a ${headerBytes}-byte header and ${count} records of ${recordBytes}`;
  if (recordBytes > MAX_IDX_RECORD_BYTES) {
    throw new DecodeError(
      `${stage}: Expected records of at most ${MAX_IDX_RECORD_BYTES} bytes in ${JSON.stringify(file)} but its header ` +
        `declares ${recordBytes} bytes per record: refusing to allocate them`,
      { file, offset: 4, stage, parameter: 'path' },
    );
  }
  const expected = headerBytes + count * recordBytes;
  const size = header.fileSize;
  if (size !== undefined && size < expected) {
    throw new TruncatedRecordError(
      `${stage}: Expected ${expected} bytes in ${JSON.stringify(file)} (${declared}) but the file has ${size}`,
      {
        file,
        offset: size,
        key: `${file}:${Math.floor((size - headerBytes) / recordBytes)}`,
        stage,
        parameter: 'path',
      },
    );
  }
  if (size !== undefined && size > expected) {
    throw new DecodeError(
      `${stage}: Expected ${expected} bytes in ${JSON.stringify(file)} (${declared}) but the file has ${size}: ` +
        `${size - expected} bytes past the last record`,
      { file, offset: expected, stage, parameter: 'path' },
    );
  }
  const compressed = header.compressedSize;
  if (compressed !== undefined && expected > compressed * MAX_INFLATE_RATIO) {
    throw new DecodeError(
      `${stage}: Expected at most ${compressed * MAX_INFLATE_RATIO} bytes of data in ${JSON.stringify(file)} (a ` +
        `${compressed}-byte gzip file inflates to at most ${MAX_INFLATE_RATIO} times its size) but its header ` +
        `declares ${expected} (${declared})`,
      { file, offset: 4, stage, parameter: 'path' },
    );
  }
}

async function sizeOf(file: string, stage: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw fileError(stage, file, err);
  }
}

async function readPlainPrefix(file: string, n: number, stage: string): Promise<IdxHeader> {
  const { handle, size } = await openRegularFile(file, stage);
  try {
    const buf = new Uint8Array(n);
    let total = 0;
    while (total < n) {
      const { bytesRead } = await handle.read(buf, total, n - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return { bytes: buf.subarray(0, total), fileSize: size };
  } catch (err) {
    throw fileError(stage, file, err);
  } finally {
    await handle.close();
  }
}

async function readGzipPrefix(file: string, n: number, stage: string): Promise<Uint8Array> {
  const { handle } = await openRegularFile(file, stage);
  const raw = handle.createReadStream();
  const inflater = createGunzip();
  let openError: unknown = null;
  raw.on('error', (err) => {
    openError = err;
    inflater.destroy(err);
  });
  raw.pipe(inflater);
  const out = new Uint8Array(n);
  let total = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      const take = Math.min(n - total, chunk.length);
      out.set(chunk.subarray(0, take), total);
      total += take;
      if (total >= n) break;
    }
  } catch (err) {
    if (openError) throw fileError(stage, file, openError);
    if (err instanceof InputError) throw err;
    throw new DecodeError(
      `${stage}: Expected gzip data in ${JSON.stringify(file)} but decompression failed after ${total} bytes: ${(err as Error).message}`,
      { file, offset: total, stage, parameter: 'path', cause: err },
    );
  } finally {
    inflater.destroy();
    raw.destroy();
    if (!raw.closed) await new Promise<void>((resolve) => raw.once('close', () => resolve()));
  }
  return out.subarray(0, total);
}
