import { chmod, mkdir, symlink } from 'node:fs/promises';
import { relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InputError,
  type KeyValue,
  NotFoundError,
  stringInputProducer,
  wholeFileReader,
} from '../../src/index.js';
import {
  canListOpenFds,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
  tick,
} from '../helpers/files.js';

let tmp: TempDir;
let A: string;
let B: string;
let C: string;
const contents: Record<string, Uint8Array> = {};

beforeAll(async () => {
  tmp = await makeTempDir('wfr');
  contents.A = new TextEncoder().encode('alpha\n');
  contents.B = pseudoRandomBytes(3 * 1024 * 1024 + 17, 42); // larger than TF's 1 MiB read buffer
  contents.C = new Uint8Array(0);
  A = await tmp.write('A.txt', contents.A);
  B = await tmp.write('B.bin', contents.B);
  C = await tmp.write('C.empty', contents.C);
});

afterAll(async () => {
  await tmp.cleanup();
});

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('wholeFileReader', () => {
  it('seed demo: A, B, C for 5 epochs give exactly 15 reads in order, then the end', async () => {
    const reader = wholeFileReader(stringInputProducer([A, B, C], { numEpochs: 5, shuffle: false }));
    const it = reader[Symbol.asyncIterator]();
    const reads: KeyValue[] = [];
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      reads.push(r.value);
      expect(reads.length).toBeLessThanOrEqual(15);
    }
    expect(reads.map((r) => r.key)).toEqual([A, B, C, A, B, C, A, B, C, A, B, C, A, B, C]);
    const byKey: Record<string, Uint8Array> = { [A]: contents.A, [B]: contents.B, [C]: contents.C };
    for (const r of reads) {
      expect(r.value).toBeInstanceOf(Uint8Array);
      expect(r.value.length).toBe(byKey[r.key].length);
      expect(same(r.value, byKey[r.key])).toBe(true);
    }
    // The end is sticky.
    expect((await it.next()).done).toBe(true);
    const stage = reader.stats().find((s) => s.name === 'whole_file_reader');
    expect(stage?.elementsOut).toBe(15);
    expect(stage?.done).toBe(true);
  });

  it('an empty file is one record with an empty value (whole files are never skipped)', async () => {
    const out = await wholeFileReader([C]).toArray();
    expect(out).toHaveLength(1);
    expect(out[0].key).toBe(C);
    expect(out[0].value.length).toBe(0);
  });

  it('the key is the filename exactly as given (relative paths are not resolved)', async () => {
    const rel = relative(process.cwd(), A);
    const dotted = `${tmp.dir}/./A.txt`;
    const out = await wholeFileReader([rel, dotted]).toArray();
    expect(out.map((r) => r.key)).toEqual([rel, dotted]);
    expect(same(out[0].value, contents.A)).toBe(true);
    expect(same(out[1].value, contents.A)).toBe(true);
  });

  it('accepts a plain array and an async iterable of filenames', async () => {
    async function* names() {
      yield C;
      yield A;
    }
    expect((await wholeFileReader([A, C]).toArray()).map((r) => r.key)).toEqual([A, C]);
    expect((await wholeFileReader(names()).toArray()).map((r) => r.key)).toEqual([C, A]);
  });

  it('works as an RxJS Observable', async () => {
    const keys: string[] = [];
    await new Promise<void>((resolve, reject) => {
      wholeFileReader([A, B]).subscribe({
        next: (r) => keys.push(r.key),
        error: reject,
        complete: resolve,
      });
    });
    expect(keys).toEqual([A, B]);
  });

  it('a missing file is a NotFoundError naming it, after the files before it', async () => {
    const missing = tmp.path('does-not-exist.bin');
    const got: string[] = [];
    const err = await rejectionOf(async () => {
      for await (const r of wholeFileReader([A, missing, B])) got.push(r.key);
    });
    expect(got).toEqual([A]);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(missing);
    expect(err.message).toContain('no such file');
    expect((err as NotFoundError).file).toBe(missing);
  });

  it('a directory is a NotFoundError naming it', async () => {
    const dir = tmp.path('a-directory');
    await mkdir(dir);
    const err = await rejectionOf(() => wholeFileReader([dir]).toArray());
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(dir);
    expect(err.message).toContain('directory');
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable file is a NotFoundError naming it', async () => {
    const file = await tmp.write('no-permission.bin', 'secret');
    await chmod(file, 0o000);
    const err = await rejectionOf(() => wholeFileReader([file]).toArray());
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(file);
    expect(err.message).toContain('permission denied');
  });

  it('an unreadable path (a symlink loop, unreadable even as root) is a NotFoundError naming it', async () => {
    const loop = tmp.path('loop');
    await symlink(loop, loop);
    const err = await rejectionOf(() => wholeFileReader([loop]).toArray());
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(loop);
    expect(err.message).toMatch(/unreadable \(ELOOP\)/);
  });

  it('values are independent between reads of the same file', async () => {
    const out = await wholeFileReader([A, A]).toArray();
    out[0].value[0] = 0;
    expect(out[1].value[0]).toBe(contents.A[0]);
  });

  it.skipIf(!canListOpenFds)('leaves no file open after reading', async () => {
    await wholeFileReader([A, B, C]).toArray();
    await tick();
    expect(openDescriptorsFor(A) + openDescriptorsFor(B) + openDescriptorsFor(C)).toBe(0);
  });
});
