import type { ReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createGunzip, createInflate } from 'node:zlib';
import {
  type ErrorPolicy,
  type ErrorPolicyOptions,
  errorPolicyOption,
  handleElementError,
} from '../core/error-policy.js';
import {
  DecodeError,
  InputError,
  InvalidArgumentError,
  invalidArgument,
  TruncatedRecordError,
} from '../core/errors.js';
import type { StageCounters } from '../core/stats.js';
import { returnsUpstreamFirst, type Source, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { archiveEntryOf } from '../sources/archive-name.js';
import { tarEntryChunks } from '../sources/tar-entries.js';
import { checkFileName, fileError, openRegularFile } from './file-errors.js';
import type { KeyValue } from './whole-file-reader.js';

/**
 * Error policy (`onError`, `maxErrors`, `warn`): under `'skip'`/`'warn'` a bad *file* (missing,
 * unreadable, a directory, corrupt or truncated compressed data, a file that shrank while being read,
 * a bad archive entry) is skipped with whatever records it had left, counted once under its error's
 * class name with the file name as key, and reading goes on with the next file; a truncated record
 * (a body not ending on a record boundary) is skipped alone, keyed `<file>:<index>`. `counters.read`
 * counts every record yielded and every bad file or record skipped, so read = yielded + skipped
 * (under raise, the file or record whose error ends the stream is not counted).
 */
export interface FixedLengthRecordReaderOptions extends ErrorPolicyOptions {
  /** Bytes per record (required, > 0). */
  recordBytes: number;
  /** Bytes to skip at the start of each file (after decompression). */
  headerBytes?: number;
  /** Bytes at the end of each file that belong to no record. */
  footerBytes?: number;
  /** Distance between record starts; 0 (default) means `recordBytes`. Smaller overlaps, larger skips. */
  hopBytes?: number;
  /** The files are compressed as a whole with gzip or zlib. */
  encoding?: 'gzip' | 'zlib';
  /**
   * The policy for truncated records only, overriding `onError` for them: a file whose body does not
   * end on a record boundary raises a TruncatedRecordError naming the file and offset under
   * `'error'`; `'skip'` (≡ `onError: 'skip'` for truncated records) drops the partial record and
   * counts it (reason TruncatedRecordError). Unset: `onError` decides. (TF1's reader drops it
   * silently; tf.data raises.)
   */
  onTruncated?: 'error' | 'skip';
  /** Bytes read per I/O call (default 1 MiB). Two chunks per open file are held (double buffering). */
  chunkBytes?: number;
  /**
   * Values are views into the chunk they were read with (no copy, the default); a consumer that keeps
   * many raw records for long (a shuffle buffer of undecoded records) should pass `copy: true` so a
   * kept record does not keep its whole chunk alive.
   */
  copy?: boolean;
}

interface Layout {
  recordBytes: number;
  headerBytes: number;
  footerBytes: number;
  hopBytes: number;
  encoding: 'gzip' | 'zlib' | undefined;
  /** The policy for bad files. */
  policy: ErrorPolicy;
  /** The policy for truncated records (onTruncated over onError). */
  truncated: ErrorPolicy;
  chunkBytes: number;
  copy: boolean;
  /** Plain files are read into two buffers used in turn (fixedLengthRecordBlocks' `reuse`). */
  reuse: boolean;
}

const STAGE = 'fixedLengthRecordReader';

/**
 * TF's `FixedLengthRecordReader`: cuts each file into records of `recordBytes` (keys
 * `<filename>:<index>`, index from 0 in every file), after `headerBytes`, before `footerBytes`,
 * starting every `hopBytes`. Files are streamed in chunks, so file size does not matter. A name
 * `<archive>#<entry>` (archive ending in .tar, .tgz or .tar.gz) reads that entry of the archive,
 * streamed without extracting; keys keep the full name.
 */
export function fixedLengthRecordReader(
  filenames: Source<string>,
  options: FixedLengthRecordReaderOptions,
): Stream<KeyValue> {
  const layout = validate(options);
  const upstream = Stream.from(filenames, 'filenames', { stage: STAGE, parameter: 'filenames' });
  return new Stream<KeyValue>(
    (counters) => returnsUpstreamFirst(upstream, (files) => readAll(files, layout, counters, recordsOf)),
    {
      name: 'fixed_length_record_reader',
      upstreams: [upstream as Stream<unknown>],
    },
  );
}

/**
 * Whole records of one file, as read: record `first + k` of `file` is
 * `bytes.subarray(k * hopBytes, k * hopBytes + recordBytes)`, k < count.
 */
export interface RecordBlock {
  file: string;
  /** The number of the block's first record in its file (keys are `<file>:<number>`). */
  first: number;
  count: number;
  bytes: Uint8Array;
}

export interface FixedLengthRecordBlocksOptions extends FixedLengthRecordReaderOptions {
  /**
   * Read plain files into two buffers used in turn (default false: a new buffer per block): a
   * block's bytes are then valid only until the next block is requested (its read starts the one
   * after, into this block's buffer). For consumers that copy records out at once; saves allocating
   * (and collecting) a chunk per read.
   */
  reuse?: boolean;
}

/**
 * fixedLengthRecordReader's records a block at a time (one per read of about `chunkBytes`): the
 * same files, order, error policy and errors, without an object per record. For consumers that copy
 * the records out straight away (a shuffle pool held in one slab, say); a block's bytes are its own.
 * The stage counts records, as the record reader does. (`copy` has no effect on blocks.)
 */
export function fixedLengthRecordBlocks(
  filenames: Source<string>,
  options: FixedLengthRecordBlocksOptions,
): Stream<RecordBlock> {
  const layout = validate(options);
  layout.reuse = booleanOption(STAGE, 'reuse', options.reuse, false);
  const upstream = Stream.from(filenames, 'filenames', { stage: STAGE, parameter: 'filenames' });
  return new Stream<RecordBlock>(
    (counters) => returnsUpstreamFirst(upstream, (files) => readAll(files, layout, counters, blocksOf)),
    {
      name: 'fixed_length_record_blocks',
      upstreams: [upstream as Stream<unknown>],
    },
  );
}

function validate(options: FixedLengthRecordReaderOptions): Layout {
  const o = objectOption(STAGE, 'options', options) as Partial<FixedLengthRecordReaderOptions>;
  const recordBytes = integerOption(STAGE, 'recordBytes', o.recordBytes, { min: 1 });
  const hop = integerOption(STAGE, 'hopBytes', o.hopBytes, { min: 0, defaultValue: 0 });
  const policy = errorPolicyOption(STAGE, o);
  const onTruncated =
    o.onTruncated === undefined
      ? undefined
      : oneOfOption(STAGE, 'onTruncated', o.onTruncated, ['error', 'skip'] as const);
  const truncated: ErrorPolicy =
    onTruncated === undefined
      ? policy
      : {
          ...policy,
          onError: onTruncated === 'error' ? 'raise' : policy.onError === 'warn' ? 'warn' : 'skip',
        };
  return {
    recordBytes,
    headerBytes: integerOption(STAGE, 'headerBytes', o.headerBytes, { min: 0, defaultValue: 0 }),
    footerBytes: integerOption(STAGE, 'footerBytes', o.footerBytes, { min: 0, defaultValue: 0 }),
    hopBytes: hop === 0 ? recordBytes : hop,
    encoding:
      o.encoding === undefined
        ? undefined
        : oneOfOption(STAGE, 'encoding', o.encoding, ['gzip', 'zlib'] as const),
    policy,
    truncated,
    chunkBytes: integerOption(STAGE, 'chunkBytes', o.chunkBytes, { min: 1, defaultValue: 1 << 20 }),
    copy: booleanOption(STAGE, 'copy', o.copy, false),
    reuse: false,
  };
}

/** A file's records; returns the truncated record at its end, if any (the caller applies the policy). */
type FileRecords = AsyncGenerator<KeyValue, TruncatedRecordError | null>;
type FileBlocks = AsyncGenerator<RecordBlock, TruncatedRecordError | null>;
/** What a reader makes of a file's blocks: its records, or the blocks themselves. */
type Unpack<T> = (
  blocks: FileBlocks,
  layout: Layout,
  counters: StageCounters,
) => AsyncGenerator<T, TruncatedRecordError | null>;

async function* recordsOf(blocks: FileBlocks, layout: Layout, counters: StageCounters): FileRecords {
  const { recordBytes: R, hopBytes: H } = layout;
  try {
    for (;;) {
      const r = await blocks.next();
      if (r.done) return r.value;
      const { file, first, count, bytes } = r.value;
      for (let k = 0, o = 0; k < count; k++, o += H) {
        counters.read++;
        counters.elementsIn++;
        counters.elementsOut++;
        const value = layout.copy ? bytes.slice(o, o + R) : bytes.subarray(o, o + R);
        yield { key: `${file}:${first + k}`, value };
      }
    }
  } finally {
    await blocks.return(null); // a consumer that stopped early closes the file
  }
}

async function* blocksOf(blocks: FileBlocks, _layout: Layout, counters: StageCounters): FileBlocks {
  try {
    for (;;) {
      const r = await blocks.next();
      if (r.done) return r.value;
      counters.read += r.value.count;
      counters.elementsIn += r.value.count;
      counters.elementsOut += r.value.count;
      yield r.value;
    }
  } finally {
    await blocks.return(null);
  }
}

async function* readAll<T>(
  files: AsyncIterator<string>,
  layout: Layout,
  counters: StageCounters,
  unpack: Unpack<T>,
): AsyncGenerator<T> {
  try {
    for (;;) {
      counters.start();
      const r = await files.next();
      if (r.done) break;
      const file = checkFileName(r.value, STAGE);
      let truncated: TruncatedRecordError | null;
      try {
        truncated = yield* unpack(readFile(file, layout), layout, counters);
      } catch (err) {
        // A bad option shows on the first such file but is no property of the file: never skipped.
        if (err instanceof InvalidArgumentError) throw err;
        handleElementError(layout.policy, counters, err, file, STAGE);
        continue;
      }
      if (truncated) handleElementError(layout.truncated, counters, truncated, truncated.key, STAGE);
    }
  } finally {
    counters.done = true;
    await files.return?.();
  }
}

async function* readFile(file: string, layout: Layout): FileBlocks {
  const inArchive = await archiveEntryOf(file);
  if (inArchive) {
    if (layout.encoding) {
      throw invalidArgument(
        'encoding',
        `unset for an archive entry (${JSON.stringify(file)}); compressed entries are not supported`,
        layout.encoding,
        STAGE,
      );
    }
    const chunks = tarEntryChunks(inArchive.archive, inArchive.entry, {
      stage: STAGE,
      chunkBytes: layout.chunkBytes,
    });
    return yield* readStreamed(file, chunks, layout, (err) => err);
  }
  return yield* layout.encoding ? readCompressed(file, layout) : readPlain(file, layout);
}

/** Opens `file` for reading and takes its size: the size the file is read at, whatever happens to it later. */
function openSized(file: string): Promise<{ handle: FileHandle; size: number }> {
  return openRegularFile(file, STAGE);
}

/** A file that ended before the size it had when opened: it was truncated while being read. */
function shrank(file: string, size: number, endedAt: number, key: string): TruncatedRecordError {
  return new TruncatedRecordError(
    `${STAGE}: Expected ${size} bytes in ${JSON.stringify(file)} (its size when opened) but it ended at byte ` +
      `offset ${endedAt}: the file shrank while being read`,
    { file, offset: endedAt, key, stage: STAGE },
  );
}

/**
 * Plain files: the size taken when the file is opened fixes the records (a file that grows while it
 * is read is read as it was; one that shrinks is an error naming where it ended). Each positional
 * read starts exactly at a record and covers whole records, so records never straddle two buffers
 * and every value is a view (no copy); the footer is never read. Overlapping windows (hop < record)
 * re-read the overlap, a few bytes per chunk.
 */
async function* readPlain(file: string, layout: Layout): FileBlocks {
  const { recordBytes: R, footerBytes: F, hopBytes: H, headerBytes } = layout;
  const recordsPerRead = Math.max(1, Math.floor(layout.chunkBytes / H));
  const { handle, size } = await openSized(file);
  const body = size - headerBytes - F;
  const count = body >= R ? Math.floor((body - R) / H) + 1 : 0;
  // Double buffering: the read of the next chunk is in flight while this chunk's records are
  // consumed, so I/O overlaps decoding instead of alternating with it.
  // With `reuse`, reads alternate between two buffers: the one being read into is never the one
  // whose block the consumer holds; asking for block k + 1 starts the read of block k + 2 into
  // block k's buffer.
  const spare =
    layout.reuse && count > 0
      ? [0, 1].map(() => new Uint8Array((Math.min(recordsPerRead, count) - 1) * H + R))
      : null;
  let turn = 0;
  const readAt = async (first: number) => {
    const n = Math.min(recordsPerRead, count - first);
    const position = headerBytes + first * H;
    const length = (n - 1) * H + R;
    const buf = spare ? spare[turn++ & 1].subarray(0, length) : new Uint8Array(length);
    let bytesRead: number;
    try {
      bytesRead = await readFully(handle, buf, position);
    } catch (err) {
      throw fileError(STAGE, file, err);
    }
    if (bytesRead < buf.length) throw shrank(file, size, position + bytesRead, `${file}:${first}`);
    return { buf, n };
  };
  let pending: ReturnType<typeof readAt> | null = null;
  // The read ahead is awaited when its block is asked for; until then its failure (the file shrank,
  // an I/O error) must not count as an unhandled rejection, which would end the process.
  const ahead = (first: number) => {
    const p = readAt(first);
    p.catch(() => undefined);
    return p;
  };
  try {
    let first = 0;
    if (count > 0) pending = ahead(0);
    while (first < count) {
      const current = pending!;
      pending = null;
      const { buf, n } = await current;
      if (first + n < count) pending = ahead(first + n);
      yield { file, first, count: n, bytes: buf };
      first += n;
    }
    return truncatedTail(file, size, count, layout);
  } finally {
    if (pending) await (pending as Promise<unknown>).catch(() => undefined);
    await handle.close();
  }
}

async function readFully(handle: FileHandle, buf: Uint8Array, position: number): Promise<number> {
  let total = 0;
  while (total < buf.length) {
    const { bytesRead } = await handle.read(buf, total, buf.length - total, position + total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total;
}

/**
 * Compressed files: the file (up to its size when opened) streams through zlib into
 * `readStreamed`. Pulled, not pushed: zlib inflates only as records are consumed, so a small file
 * that inflates to gigabytes (a gzip bomb) costs no more memory than a few chunks.
 */
async function* readCompressed(file: string, layout: Layout): FileBlocks {
  const { handle, size } = await openSized(file);
  const inflater = layout.encoding === 'gzip' ? createGunzip() : createInflate();
  let raw: ReadStream | null = null;
  let rawError: unknown = null;
  let rawEnded = false;
  if (size === 0) {
    await handle.close();
    inflater.end(); // zlib reports the empty input
  } else {
    raw = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: layout.chunkBytes });
    raw.on('error', (err) => {
      rawError = err;
      inflater.destroy(err);
    });
    raw.on('end', () => {
      rawEnded = true;
    });
    raw.pipe(inflater);
  }
  const compressedAt = () => raw?.bytesRead ?? 0;
  try {
    const truncated = yield* readStreamed(file, inflater as AsyncIterable<Buffer>, layout, (err, total) => {
      if (rawError) return fileError(STAGE, file, rawError);
      if (rawEnded && compressedAt() < size) return shrank(file, size, compressedAt(), file);
      return new DecodeError(
        `${STAGE}: Expected ${layout.encoding} data in ${JSON.stringify(file)} but decompression failed at byte ` +
          `offset ${total} of the decompressed data (${compressedAt()} of the file's ${size} bytes read): ` +
          (err as Error).message,
        { file, offset: total, stage: STAGE, parameter: 'encoding', cause: err },
      );
    });
    // A file cut to whole compressed members by a shrink decompresses cleanly: the size tells.
    if (raw && rawEnded && compressedAt() < size) throw shrank(file, size, compressedAt(), file);
    // zlib stops at the end of its stream, leaving what follows unread (a second stream of a
    // concatenated file, garbage): bytes no record came from.
    const consumed = inflater.bytesWritten;
    if (consumed < size) {
      throw new DecodeError(
        `${STAGE}: Expected ${layout.encoding} data up to the end of ${JSON.stringify(file)} (${size} bytes) but ` +
          `the compressed stream ends at byte offset ${consumed} of the file: the ${size - consumed} bytes after ` +
          'it hold no records (a second concatenated stream, or garbage)',
        { file, offset: consumed, stage: STAGE, parameter: 'encoding' },
      );
    }
    return truncated;
  } finally {
    inflater.destroy();
    if (raw) {
      raw.destroy();
      // The descriptor closes asynchronously; a cancelled run must not return with it still open.
      const r = raw;
      if (!r.closed) await new Promise<void>((resolve) => r.once('close', () => resolve()));
    }
  }
}

/**
 * Records from any stream of chunks (decompressed data, an archive entry); bytes of a record cut by
 * a chunk boundary are carried into the next chunk (one small copy per chunk). `fail` turns an
 * error of the chunk source that is not already an InputError into one. Holds at most one record
 * plus one chunk, whatever the stream's length.
 */
async function* readStreamed(
  file: string,
  source: AsyncIterable<Uint8Array>,
  layout: Layout,
  fail: (err: unknown, total: number) => unknown,
): FileBlocks {
  const { recordBytes: R, footerBytes: F, hopBytes: H } = layout;
  const window = R + F;
  let skip = layout.headerBytes;
  // Bytes of an incomplete record, kept as the chunks they came in and joined once a whole record
  // is there: joining on every chunk would copy a record bigger than a chunk over and over.
  let parts: Uint8Array[] = [];
  let partsLength = 0;
  let total = 0;
  let index = 0;
  try {
    for await (const chunk of source) {
      total += chunk.length;
      let part: Uint8Array = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      if (skip > 0) {
        const dropped = Math.min(skip, part.length);
        skip -= dropped;
        part = part.subarray(dropped);
      }
      if (part.length === 0) continue;
      if (partsLength + part.length < window) {
        parts.push(part);
        partsLength += part.length;
        continue;
      }
      let data = part;
      if (partsLength > 0) {
        data = new Uint8Array(partsLength + part.length);
        let at = 0;
        for (const p of parts) {
          data.set(p, at);
          at += p.length;
        }
        data.set(part, at);
      }
      parts = [];
      partsLength = 0;
      // Records whose window (record + footer) is here: one block of them.
      const n = data.length >= window ? Math.floor((data.length - window) / H) + 1 : 0;
      const o = n * H;
      if (n > 0) {
        yield { file, first: index, count: n, bytes: data.subarray(0, (n - 1) * H + R) };
        index += n;
      }
      if (o < data.length) {
        parts = [data.subarray(o)];
        partsLength = data.length - o;
      } else if (o > data.length) skip = o - data.length;
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw fail(err, total);
  }
  return truncatedTail(file, total, index, layout);
}

/**
 * A well-formed file is header + records (every `hop` bytes, the last one whole) + footer, with at
 * most a hop gap after the last record. Anything else ends in a partial record: returned as a
 * TruncatedRecordError for the caller's policy (null for a well-formed file).
 */
function truncatedTail(
  file: string,
  fileBytes: number,
  count: number,
  layout: Layout,
): TruncatedRecordError | null {
  const { recordBytes: R, footerBytes: F, hopBytes: H, headerBytes } = layout;
  const body = fileBytes - headerBytes - F;
  if (fileBytes === 0 && headerBytes + F === 0) return null;
  let problem: string | null = null;
  let offset: number;
  if (body < 0) {
    offset = 0;
    problem = `${STAGE}: Expected at least headerBytes + footerBytes = ${headerBytes + F} bytes in ${JSON.stringify(file)} but the file has ${fileBytes}`;
  } else {
    const used = count > 0 ? (count - 1) * H + R : 0;
    const rest = body - used;
    const allowedGap = count > 0 ? Math.max(0, H - R) : 0;
    offset = headerBytes + count * H;
    if (rest > allowedGap) {
      const actual = body - count * H;
      problem =
        `${STAGE}: Truncated record ${count} in ${JSON.stringify(file)} at byte offset ${offset}: ` +
        `expected recordBytes = ${R} bytes but only ${actual} remain before the ${F}-byte footer`;
    }
  }
  if (problem === null) return null;
  return new TruncatedRecordError(problem, {
    file,
    offset,
    key: `${file}:${count}`,
    parameter: 'recordBytes',
    stage: STAGE,
  });
}
