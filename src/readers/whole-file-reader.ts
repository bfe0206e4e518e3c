import { readFile } from 'node:fs/promises';
import { type Source, Stream } from '../core/stream.js';
import { splitArchiveName } from '../sources/archive-name.js';
import { tarEntryChunks } from '../sources/tar-entries.js';
import { fileError } from './file-errors.js';

export interface KeyValue {
  /** The filename for whole files; `<filename>:<index>` for records. */
  key: string;
  value: Uint8Array;
}

const STAGE = 'wholeFileReader';

/**
 * TF's `WholeFileReader`: one record per file, key = the filename as given, value = its bytes. A name
 * `<archive>#<entry>` (archive ending in .tar, .tgz or .tar.gz) reads that entry of the archive.
 */
export function wholeFileReader(filenames: Source<string>): Stream<KeyValue> {
  const upstream = Stream.from(filenames, 'filenames', { stage: STAGE, parameter: 'filenames' });
  return new Stream<KeyValue>(
    (counters) => {
      const files = upstream[Symbol.asyncIterator]();
      let done = false;
      return {
        async next(): Promise<IteratorResult<KeyValue>> {
          if (done) return { value: undefined, done: true };
          counters.start();
          const r = await files.next();
          if (r.done) {
            done = counters.done = true;
            return { value: undefined, done: true };
          }
          const file = r.value;
          try {
            const value = await readWhole(file);
            counters.elementsIn++;
            counters.elementsOut++;
            return { value: { key: file, value }, done: false };
          } catch (err) {
            done = counters.done = true;
            await files.return?.();
            throw fileError(STAGE, file, err);
          }
        },
        async return(): Promise<IteratorResult<KeyValue>> {
          if (!done) {
            done = counters.done = true;
            await files.return?.();
          }
          return { value: undefined, done: true };
        },
      };
    },
    { name: 'whole_file_reader', upstreams: [upstream as Stream<unknown>] },
  );
}

/** A file's bytes, or an archive entry's (streamed from the archive and joined; nothing extracted). */
async function readWhole(file: string): Promise<Uint8Array> {
  const inArchive = splitArchiveName(file);
  if (!inArchive) return new Uint8Array(await readFile(file));
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of tarEntryChunks(inArchive.archive, inArchive.entry, { stage: STAGE })) {
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
}
