import type { ReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

type TarSource = AsyncIterable<Buffer> & {
  header: { name: string; size?: number; type?: string | null };
  resume(): unknown;
};

import { DecodeError, InputError, invalidArgument, NotFoundError } from '../core/errors.js';
import { counted, Stream } from '../core/stream.js';
import { integerOption, objectOption } from '../core/validate.js';
import { fileError } from '../readers/file-errors.js';
import { globMatcher } from './glob.js';

/** A regular file inside a tar archive. */
export interface TarEntry {
  /** Its path in the archive, without a leading `./`. */
  name: string;
  /** Its size in bytes, from the header. */
  size: number;
  /**
   * Its bytes, streamed in chunks. Valid only until the next entry is pulled: an entry not read by
   * then is skipped (its bytes are read through and dropped, never kept).
   */
  chunks: AsyncIterable<Uint8Array>;
}

export interface TarEntriesOptions {
  /** Glob(s) over entry paths (`*`, `**`, `?`, `{a,b}`); unset: every regular file. */
  pattern?: string | string[];
  /** Bytes read from the archive file per I/O call (default 1 MiB). */
  chunkBytes?: number;
}

interface ScanOptions {
  stage: string;
  chunkBytes: number;
  match: (name: string) => boolean;
}

const STAGE = 'tarEntries';
const DEFAULT_CHUNK = 1 << 20;

/**
 * The regular files of a `.tar` or gzipped tar (detected by its magic bytes `1f 8b`, not its name)
 * whose paths match `pattern`, in archive order, streamed from disk: nothing is extracted and only a
 * few chunks are held at any time. `break` closes the archive file.
 */
export function tarEntries(archive: string, options: TarEntriesOptions = {}): Stream<TarEntry> {
  if (typeof archive !== 'string' || archive.length === 0) {
    throw invalidArgument('archive', 'an archive path (a non-empty string)', archive, STAGE);
  }
  const o = objectOption(STAGE, 'options', options) as TarEntriesOptions;
  const scan: ScanOptions = {
    stage: STAGE,
    chunkBytes: integerOption(STAGE, 'chunkBytes', o.chunkBytes, { min: 1, defaultValue: DEFAULT_CHUNK }),
    match: globMatcher(o.pattern, STAGE),
  };
  return new Stream<TarEntry>((counters) => counted(scanTar(archive, scan), counters), {
    name: 'tar_entries',
  });
}

/**
 * Reads the archive once, yielding the matching regular files. Errors: a missing or unreadable
 * archive is a NotFoundError; a corrupt or truncated one a DecodeError naming the archive and the
 * byte offset of the archive file read so far.
 */
export async function* scanTar(archive: string, scan: ScanOptions): AsyncGenerator<TarEntry> {
  const { stage } = scan;
  let handle: FileHandle;
  let gzip: boolean;
  try {
    handle = await open(archive, 'r');
  } catch (err) {
    throw fileError(stage, archive, err);
  }
  try {
    const magic = new Uint8Array(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    gzip = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } catch (err) {
    await handle.close();
    throw fileError(stage, archive, err);
  }
  const raw: ReadStream = handle.createReadStream({ start: 0, highWaterMark: scan.chunkBytes });
  const extract = tar.extract();
  let failure: unknown = null;
  const done = (err: NodeJS.ErrnoException | null) => {
    if (err && failure === null) failure = err;
  };
  const sink = extract as unknown as NodeJS.WritableStream;
  if (gzip) pipeline(raw, createGunzip({ chunkSize: Math.min(scan.chunkBytes, 1 << 16) }), sink, done);
  else pipeline(raw, sink, done);
  const corrupt = (err: unknown): InputError => {
    if (err instanceof InputError) return err;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code && !code.startsWith('Z_') && code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      return fileError(stage, archive, err);
    }
    const offset = raw.bytesRead;
    return new DecodeError(
      `${stage}: Expected a ${gzip ? 'gzipped ' : ''}tar archive in ${JSON.stringify(archive)} but it is corrupt ` +
        `or truncated at byte offset ${offset} of the file: ${(err as Error)?.message ?? String(err)}`,
      { file: archive, offset, stage, parameter: 'archive', cause: err },
    );
  };
  const entries = (extract as unknown as AsyncIterable<TarSource>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<TarSource>;
      try {
        r = await entries.next();
      } catch (err) {
        throw corrupt(failure ?? err);
      }
      if (r.done) {
        if (failure) throw corrupt(failure);
        return;
      }
      const entry = r.value;
      const { header } = entry;
      const name = header.name.replace(/^(\.\/)+/, '');
      const regular = header.type === 'file' || header.type === 'contiguous-file' || header.type == null;
      if (!regular || !scan.match(name)) {
        entry.resume();
        continue;
      }
      let consumed = false;
      const chunks: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
          if (consumed)
            throw new InputError(`${stage}: the bytes of ${JSON.stringify(name)} were read already`, {
              file: archive,
              stage,
            });
          consumed = true;
          try {
            for await (const c of entry) {
              yield new Uint8Array(c.buffer, c.byteOffset, c.length);
            }
          } catch (err) {
            throw corrupt(failure ?? err);
          }
          if (failure) throw corrupt(failure);
        },
      };
      yield { name, size: header.size ?? 0, chunks };
      entry.resume(); // drop what the consumer left unread
    }
  } finally {
    await entries.return?.().catch(() => undefined);
    raw.destroy();
    // The descriptor closes asynchronously; a cancelled run must not return with it still open.
    if (!raw.closed) await new Promise<void>((resolve) => raw.once('close', () => resolve()));
  }
}

/**
 * The bytes of one entry of an archive, in chunks; a NotFoundError naming the archive and the entry
 * when the archive has no such regular file.
 */
export async function* tarEntryChunks(
  archive: string,
  entry: string,
  options: { stage: string; chunkBytes?: number },
): AsyncGenerator<Uint8Array> {
  const scan = {
    stage: options.stage,
    chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK,
    match: (n: string) => n === entry,
  };
  for await (const e of scanTar(archive, scan)) {
    yield* e.chunks;
    return;
  }
  throw new NotFoundError(
    `${options.stage}: Expected an entry ${JSON.stringify(entry)} in the archive ${JSON.stringify(archive)} but it has no such file`,
    { file: `${archive}#${entry}`, stage: options.stage, parameter: 'filename' },
  );
}

/** Names and sizes of the archive's regular files matching `match`, in archive order (one full read). */
export async function listTar(
  archive: string,
  options: { stage: string; match?: (name: string) => boolean },
): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  const scan = { stage: options.stage, chunkBytes: DEFAULT_CHUNK, match: options.match ?? (() => true) };
  for await (const e of scanTar(archive, scan)) out.push({ name: e.name, size: e.size });
  return out;
}
