import { readFile } from 'node:fs/promises';
import { type Source, Stream } from '../core/stream.js';
import { fileError } from './file-errors.js';

export interface KeyValue {
  /** The filename for whole files; `<filename>:<index>` for records. */
  key: string;
  value: Uint8Array;
}

const STAGE = 'wholeFileReader';

/** TF's `WholeFileReader`: one record per file, key = the filename as given, value = its bytes. */
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
            const value = new Uint8Array(await readFile(file));
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
