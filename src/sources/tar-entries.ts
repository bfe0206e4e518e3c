import type { ReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

import {
  type ErrorPolicy,
  type ErrorPolicyOptions,
  errorPolicyOption,
  handleElementError,
} from '../core/error-policy.js';
import { ArchiveError, InputError, invalidArgument, NotFoundError } from '../core/errors.js';
import type { StageCounters } from '../core/stats.js';
import { Stream } from '../core/stream.js';
import { integerOption, objectOption } from '../core/validate.js';
import { fileError, openRegularFile } from '../readers/file-errors.js';
import { globMatcher } from './glob.js';

type TarSource = AsyncIterable<Buffer> & {
  header: { name: string; size?: number; type?: string | null; byteOffset?: number };
  resume(): unknown;
};

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

/**
 * Error policy: tar has no resynchronisation point, so once a header, an entry's data or the gzip
 * stream is bad nothing after it can be trusted. Under `'skip'`/`'warn'` the archive therefore ends
 * there, counted as one skip (reason ArchiveError, or NotFoundError for a missing archive) keyed
 * `<archive>#<entry>` when the failure lies inside an entry, else `<archive>`; the entries before it
 * were delivered. An entry whose bytes a consumer is reading when the failure is found still raises
 * in that consumer's loop over `chunks` (its bytes are incomplete); the next pull applies the policy.
 */
export interface TarEntriesOptions extends ErrorPolicyOptions {
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
/** The end-of-archive marker: two zero blocks, the least any archive (even an empty one) holds. */
const END_MARKER_BYTES = 1024;

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
  const policy = errorPolicyOption(STAGE, o);
  const scan: ScanOptions = {
    stage: STAGE,
    chunkBytes: integerOption(STAGE, 'chunkBytes', o.chunkBytes, { min: 1, defaultValue: DEFAULT_CHUNK }),
    match: globMatcher(o.pattern, STAGE),
  };
  return new Stream<TarEntry>((counters) => underPolicy(archive, scanTar(archive, scan), policy, counters), {
    name: 'tar_entries',
  });
}

/** Counts entries (read = yielded + skipped) and applies the policy to a failing archive: one skip, the end. */
async function* underPolicy(
  archive: string,
  entries: AsyncGenerator<TarEntry>,
  policy: ErrorPolicy,
  counters: StageCounters,
): AsyncGenerator<TarEntry> {
  try {
    for (;;) {
      counters.start();
      let r: IteratorResult<TarEntry>;
      try {
        r = await entries.next();
      } catch (err) {
        handleElementError(policy, counters, err, (err as InputError).key ?? archive, STAGE);
        return;
      }
      if (r.done) return;
      counters.read++;
      counters.elementsIn++;
      counters.elementsOut++;
      yield r.value;
    }
  } finally {
    counters.done = true;
    await entries.return(undefined);
  }
}

/**
 * Reads the archive once, yielding the matching regular files. Errors: a missing or unreadable
 * archive is a NotFoundError; a corrupt, truncated or empty one (bad header or checksum, data ending
 * inside an entry or before the end-of-archive marker, no header and less than that marker, bad or
 * truncated gzip) an ArchiveError naming the archive, the entry (`key` = `<archive>#<entry>` when
 * inside one) and the byte offset in the tar data (decompressed), plus how much of a gzipped file
 * was read.
 */
export async function* scanTar(archive: string, scan: ScanOptions): AsyncGenerator<TarEntry> {
  const { stage } = scan;
  let gzip: boolean;
  const { handle } = await openRegularFile(archive, stage);
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
  const gunzip = gzip ? createGunzip({ chunkSize: Math.min(scan.chunkBytes, 1 << 16) }) : null;
  if (gunzip) pipeline(raw, gunzip, sink, done);
  else pipeline(raw, sink, done);
  // Bytes of tar data handed to the parser (decompressed), for offsets in errors. Listening does not
  // change the flow: pipe pauses the source for every listener.
  let tarBytes = 0;
  (gunzip ?? raw).on('data', (c: Buffer) => {
    tarBytes += c.length;
  });
  // The last header seen: where its data starts and where its padded data ends (the next header).
  let last: { name: string; dataStart: number; end: number } | null = null;
  let offsetsExact = true;
  const corrupt = (err: unknown, why?: string): InputError => {
    if (err instanceof InputError) return err;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code && !code.startsWith('Z_') && code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      return fileError(stage, archive, err);
    }
    const message = (err as Error)?.message ?? String(err);
    const badHeader = !code && /header/i.test(message);
    const inEntry = !badHeader && last !== null && tarBytes < last.end;
    const offset = badHeader ? (last?.end ?? 0) : tarBytes;
    const what =
      why ??
      (badHeader
        ? 'corrupt (a bad tar header)'
        : code === 'Z_BUF_ERROR' || /unexpected end/i.test(message) || code === 'ERR_STREAM_PREMATURE_CLOSE'
          ? 'truncated'
          : code?.startsWith('Z_')
            ? 'corrupt (bad gzip data)'
            : 'corrupt');
    const where = inEntry
      ? ` inside entry ${JSON.stringify(last!.name)}`
      : last
        ? ` after entry ${JSON.stringify(last.name)}`
        : '';
    const compressed = gzip ? ` (${raw.bytesRead} bytes of the gzipped file read)` : '';
    return new ArchiveError(
      `${stage}: Expected a ${gzip ? 'gzipped ' : ''}tar archive in ${JSON.stringify(archive)} but it is ${what} ` +
        `at byte offset ${offset} of the tar data${where}${compressed}: ${message}`,
      {
        file: archive,
        offset,
        key: inEntry ? `${archive}#${last!.name}` : undefined,
        stage,
        parameter: 'archive',
        cause: err,
      },
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
        // An empty archive is still two zero blocks; fewer bytes and no header is no archive at all
        // but a failed download or a cut file (GNU tar and Python refuse a zero-byte one; GNU tar
        // warns of a lone zero block).
        if (last === null && tarBytes < END_MARKER_BYTES) {
          const compressed = gzip ? ` (a gzipped file of ${raw.bytesRead} bytes)` : '';
          throw new ArchiveError(
            `${stage}: Expected a ${gzip ? 'gzipped ' : ''}tar archive in ${JSON.stringify(archive)} but it is ` +
              `empty: no tar header and no end-of-archive marker (${tarBytes} bytes of tar data${compressed})`,
            { file: archive, offset: 0, stage, parameter: 'archive' },
          );
        }
        // tar-stream ends quietly on a cut that falls between entries; the two zero blocks that end
        // every archive tell a complete archive from one cut there (they are skipped as padding).
        if (last !== null && offsetsExact && tarBytes <= last.end) {
          throw corrupt(new Error('no end-of-archive marker (two zero blocks)'), 'truncated');
        }
        return;
      }
      const entry = r.value;
      const { header } = entry;
      const name = header.name.replace(/^(\.\/)+/, '');
      const size = header.size ?? 0;
      const dataStart: number = header.byteOffset ?? (last ? last.end + 512 : 512);
      if (header.byteOffset === undefined) offsetsExact = false;
      last = { name, dataStart, end: dataStart + Math.ceil(size / 512) * 512 };
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
          // Pulled by hand: `for await` would destroy the entry when the consumer stops early, and
          // tar-stream then never reaches the next header (the scan hangs); left intact, the
          // entry.resume() after the yield below drains what was not read.
          const it = entry[Symbol.asyncIterator]();
          try {
            for (;;) {
              const r = await it.next();
              if (r.done) break;
              const c = r.value;
              yield new Uint8Array(c.buffer, c.byteOffset, c.length);
            }
          } catch (err) {
            throw corrupt(failure ?? err);
          }
          if (failure) throw corrupt(failure);
        },
      };
      yield { name, size, chunks };
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
