import { type ErrorPolicyOptions, errorPolicyOption, handleElementError } from '../core/error-policy.js';
import { type Source, Stream } from '../core/stream.js';
import { objectOption } from '../core/validate.js';
import { archiveEntryOf } from '../sources/archive-name.js';
import { tarEntryChunks } from '../sources/tar-entries.js';
import { checkFileName, fileError, openRegularFile } from './file-errors.js';

export interface KeyValue {
  /** The filename for whole files; `<filename>:<index>` for records. */
  key: string;
  value: Uint8Array;
}

/**
 * Error policy: under `'skip'`/`'warn'` a file that cannot be read (missing, unreadable, a
 * directory, an `<archive>#<entry>` whose archive is bad or has no such entry) is skipped, counted
 * under its error's class name with the filename as key, and reading goes on with the next file.
 */
export type WholeFileReaderOptions = ErrorPolicyOptions;

const STAGE = 'wholeFileReader';

/**
 * TF's `WholeFileReader`: one record per file, key = the filename as given, value = its bytes. A name
 * `<archive>#<entry>` (archive ending in .tar, .tgz or .tar.gz) reads that entry of the archive.
 * Every file yielded or skipped counts in `read`, so read = yielded + skipped (under raise, the file
 * whose error ends the stream is not counted).
 */
export function wholeFileReader(
  filenames: Source<string>,
  options: WholeFileReaderOptions = {},
): Stream<KeyValue> {
  const policy = errorPolicyOption(STAGE, objectOption(STAGE, 'options', options) as ErrorPolicyOptions);
  const upstream = Stream.from(filenames, 'filenames', { stage: STAGE, parameter: 'filenames' });
  return new Stream<KeyValue>(
    (counters) => {
      const files = upstream[Symbol.asyncIterator]();
      let done = false;
      /** The read in flight: return() waits for it, so a cancelled run leaves no file open. */
      let reading: Promise<unknown> | null = null;
      const close = async (): Promise<void> => {
        done = counters.done = true;
        await files.return?.();
      };
      return {
        async next(): Promise<IteratorResult<KeyValue>> {
          for (;;) {
            if (done) return { value: undefined, done: true };
            counters.start();
            const r = await files.next();
            if (done) return { value: undefined, done: true }; // returned meanwhile: read no more
            if (r.done) {
              done = counters.done = true;
              return { value: undefined, done: true };
            }
            let file: string;
            try {
              file = checkFileName(r.value, STAGE);
            } catch (bad) {
              await close(); // a bad name ends the stream: the upstream is closed, as on any error
              throw bad;
            }
            try {
              const read = readWholeFile(file, STAGE);
              reading = read;
              const value = await read.finally(() => (reading = null));
              counters.read++;
              counters.elementsIn++;
              counters.elementsOut++;
              return { value: { key: file, value }, done: false };
            } catch (err) {
              try {
                handleElementError(policy, counters, err, file, STAGE);
              } catch (raised) {
                await close();
                throw raised;
              }
            }
          }
        },
        async return(): Promise<IteratorResult<KeyValue>> {
          if (!done) await close();
          await reading?.catch(() => undefined);
          return { value: undefined, done: true };
        },
      };
    },
    { name: 'whole_file_reader', upstreams: [upstream as Stream<unknown>] },
  );
}

/**
 * A file's bytes, or an archive entry's (streamed from the archive and joined; nothing extracted).
 * Failures are typed: NotFoundError (missing, unreadable, a directory, no such entry) naming the file,
 * ArchiveError for a bad archive.
 */
export async function readWholeFile(file: string, stage: string): Promise<Uint8Array> {
  try {
    const inArchive = await archiveEntryOf(file);
    if (!inArchive) {
      const { handle } = await openRegularFile(file, stage);
      try {
        return new Uint8Array(await handle.readFile());
      } finally {
        await handle.close();
      }
    }
    const parts: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of tarEntryChunks(inArchive.archive, inArchive.entry, { stage })) {
      parts.push(chunk);
      length += chunk.length;
    }
    const value = new Uint8Array(length);
    let o = 0;
    for (const p of parts) {
      value.set(p, o);
      o += p.length;
    }
    return value;
  } catch (err) {
    throw fileError(stage, file, err);
  }
}
