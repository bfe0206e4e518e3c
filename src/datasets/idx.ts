import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DecodeError, InputError, TruncatedRecordError } from '../core/errors.js';
import { fileError } from '../readers/file-errors.js';

/** IDX magic numbers (big-endian u32 at offset 0): 0x08 = unsigned bytes, then the rank. */
export const IDX_UBYTE_RANK1_MAGIC = 0x00000801;
export const IDX_UBYTE_RANK3_MAGIC = 0x00000803;

export interface IdxHeader {
  /** The header bytes (`4 * (rank + 1)` of them), decompressed. */
  bytes: Uint8Array;
  /** The file's size on disk for a plain file; undefined for a gzipped one (unknown without reading it all). */
  fileSize: number | undefined;
}

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
  const got = gzip
    ? { bytes: await readGzipPrefix(file, headerBytes, stage), fileSize: undefined }
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

async function readPlainPrefix(file: string, n: number, stage: string): Promise<IdxHeader> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw fileError(stage, file, err);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const buf = new Uint8Array(n);
    let total = 0;
    while (total < n) {
      const { bytesRead } = await handle.read(buf, total, n - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return { bytes: buf.subarray(0, total), fileSize: st.size };
  } catch (err) {
    throw fileError(stage, file, err);
  } finally {
    await handle.close();
  }
}

async function readGzipPrefix(file: string, n: number, stage: string): Promise<Uint8Array> {
  const raw = createReadStream(file);
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
