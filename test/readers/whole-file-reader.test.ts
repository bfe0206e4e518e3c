import { chmod, mkdir, symlink } from 'node:fs/promises';
import { relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError, InvalidArgumentError, TooManyErrorsError } from '../../src/core/errors.js';
import type { StageStats } from '../../src/core/stats.js';
import {
  InputError,
  type KeyValue,
  NotFoundError,
  stringInputProducer,
  wholeFileReader,
} from '../../src/index.js';
import type { WholeFileReaderOptions } from '../../src/readers/whole-file-reader.js';
import {
  canListOpenFds,
  drain,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
  thrownBy,
  tick,
} from '../helpers/files.js';
import { tarOf } from '../helpers/tar.js';

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

function readerStats(stream: { stats(): StageStats[] }): StageStats {
  const s = stream.stats().find((x) => x.name === 'whole_file_reader');
  if (!s) throw new Error('no whole_file_reader entry in stats()');
  return s;
}

async function runWith(files: string[], options?: WholeFileReaderOptions) {
  const reader = wholeFileReader(files, options);
  const { out: records, error } = await drain(reader);
  return { records, error: error ?? null, stats: readerStats(reader), report: reader.report() };
}

describe('wholeFileReader: error policy', () => {
  let archive: string;
  let cutArchive: string;
  beforeAll(async () => {
    const bytes = await tarOf([
      ['a.txt', 'in the archive'],
      ['big.bin', pseudoRandomBytes(5000, 3)],
    ]);
    archive = await tmp.write('entries.tar', bytes);
    // a.txt: header 512 + data 512; big.bin: header at 1024, data from 1536: cut inside it.
    cutArchive = await tmp.write('cut.tar', bytes.subarray(0, 1536 + 1000));
  });

  it('raise (default): typed errors with file, parameter and stage; the stream ends', async () => {
    const missing = tmp.path('policy-missing.bin');
    const out = await runWith([A, missing, B]);
    expect(out.records.map((r) => r.key)).toEqual([A]);
    expect(out.error).toBeInstanceOf(NotFoundError);
    expect(out.error).toMatchObject({ file: missing, parameter: 'filename', stage: 'wholeFileReader' });
    // The file whose error ended the stream is not counted: read = yielded + skipped still holds.
    expect(out.stats).toMatchObject({ read: 1, elementsOut: 1, skipped: 0 });
    const noEntry = `${archive}#nope.txt`;
    const e2 = (await runWith([noEntry])).error as NotFoundError;
    expect(e2).toBeInstanceOf(NotFoundError);
    expect(e2).toMatchObject({ file: noEntry, stage: 'wholeFileReader' });
    expect(e2.message).toContain(archive);
    expect(e2.message).toContain('"nope.txt"');
  });

  it('raise: an entry cut short is an ArchiveError naming archive, entry and offset', async () => {
    const err = (await runWith([`${cutArchive}#big.bin`])).error as ArchiveError;
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err).toMatchObject({ file: cutArchive, key: `${cutArchive}#big.bin`, offset: 2536 });
    expect(err.message).toContain('"big.bin"');
    expect(err.message).toContain('byte offset 2536');
  });

  it('skip: missing, directory, no such entry, broken archive are counted by reason; read = yielded + skipped', async () => {
    const missing = tmp.path('skip-missing.bin');
    const dir = tmp.path('skip-dir');
    await mkdir(dir);
    const noEntry = `${archive}#nope.txt`;
    const broken = `${cutArchive}#big.bin`;
    const out = await runWith([A, missing, dir, noEntry, `${archive}#a.txt`, broken, C], { onError: 'skip' });
    expect(out.error).toBeNull();
    expect(out.records.map((r) => r.key)).toEqual([A, `${archive}#a.txt`, C]);
    expect(new TextDecoder().decode(out.records[1].value)).toBe('in the archive');
    expect(out.stats).toMatchObject({ read: 7, elementsOut: 3, skipped: 4 });
    expect(out.stats.skippedByReason).toEqual({
      NotFoundError: { count: 3, firstKeys: [missing, dir, noEntry] },
      ArchiveError: { count: 1, firstKeys: [broken] },
    });
    expect(out.report.stages).toEqual([
      {
        stage: 'whole_file_reader',
        read: 7,
        yielded: 3,
        skipped: 4,
        skippedByReason: out.stats.skippedByReason,
      },
    ]);
  });

  it.skipIf(process.getuid?.() === 0)(
    'skip: an unreadable file (chmod 000) is skipped as NotFoundError',
    async () => {
      const file = await tmp.write('policy-noperm.bin', 'secret');
      await chmod(file, 0o000);
      const out = await runWith([file, A], { onError: 'skip' });
      expect(out.records.map((r) => r.key)).toEqual([A]);
      expect(out.stats.skippedByReason).toEqual({ NotFoundError: { count: 1, firstKeys: [file] } });
    },
  );

  it('warn: a line per skip through the warn option', async () => {
    const missing = tmp.path('warn-missing.bin');
    const lines: string[] = [];
    const out = await runWith([missing, A, `${archive}#nope.txt`], {
      onError: 'warn',
      warn: (l) => lines.push(l),
    });
    expect(out.records.map((r) => r.key)).toEqual([A]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^wholeFileReader: skipped ${missing}: .*no such file`));
    expect(lines[1]).toContain(`skipped ${archive}#nope.txt`);
  });

  it('maxErrors: the skip past the bound raises TooManyErrorsError', async () => {
    const out = await runWith([tmp.path('m1'), A, tmp.path('m2'), B], { onError: 'skip', maxErrors: 1 });
    expect(out.records.map((r) => r.key)).toEqual([A]);
    expect(out.error).toBeInstanceOf(TooManyErrorsError);
    expect((out.error as TooManyErrorsError).key).toBe(tmp.path('m2'));
    expect(out.stats.skipped).toBe(2);
  });

  it('maxErrors: the last skip, recorded before TooManyErrorsError, is counted in read', async () => {
    const out = await runWith([tmp.path('c1'), A, tmp.path('c2'), B], { onError: 'skip', maxErrors: 1 });
    expect(out.error).toBeInstanceOf(TooManyErrorsError);
    expect(out.stats).toMatchObject({ read: 3, elementsOut: 1, skipped: 2 });
  });

  it('a file name that is not a string raises InvalidArgumentError under every policy and closes the upstream', async () => {
    for (const onError of ['raise', 'skip'] as const) {
      let closed = false;
      async function* names(): AsyncGenerator<string> {
        try {
          yield A;
          yield 42 as unknown as string;
          yield 'never read';
        } finally {
          closed = true;
        }
      }
      const out = await runWith(names() as unknown as string[], { onError });
      expect(out.records.map((r) => r.key)).toEqual([A]);
      expect(out.error).toBeInstanceOf(InvalidArgumentError);
      expect(out.error).toMatchObject({ parameter: 'filenames', stage: 'wholeFileReader' });
      expect(closed).toBe(true);
      expect(out.stats).toMatchObject({ done: true, read: 1, elementsOut: 1, skipped: 0 });
    }
  });

  it('rejects bad policy options at construction', () => {
    for (const [name, options] of [
      ['onError', { onError: 'ignore' }],
      ['maxErrors', { maxErrors: 1.5 }],
      ['options', 3],
    ] as const) {
      const err = thrownBy(() => wholeFileReader([A], options as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).parameter).toBe(name);
    }
  });
});

describe('wholeFileReader: fuzzed archives (random, truncated, bit-flipped, empty)', () => {
  it('reads an entry or fails typed, never hangs; under skip read = yielded + skipped', async () => {
    const base = await tarOf([
      ['x.bin', pseudoRandomBytes(700, 1)],
      ['y.txt', 'why'],
    ]);
    let n = 0;
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(base.length) }),
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(base.length - 1), bit: fc.nat(7) }),
          fc.record({ kind: fc.constant('random' as const), length: fc.nat(3000), seed: fc.integer() }),
          fc.constant({ kind: 'empty' as const }),
        ),
        fc.boolean(),
        fc.constantFrom('raise' as const, 'skip' as const),
        async (m, gzip, onError) => {
          let bytes: Uint8Array =
            m.kind === 'truncate'
              ? base.subarray(0, m.at)
              : m.kind === 'flip'
                ? base.slice()
                : m.kind === 'random'
                  ? pseudoRandomBytes(m.length, m.seed)
                  : new Uint8Array(0);
          if (m.kind === 'flip') bytes[m.at] ^= 1 << m.bit;
          if (gzip && m.kind !== 'random') bytes = gzipSync(bytes);
          const file = await tmp.write(`fuzz-${n++}.tar`, bytes);
          const names = [`${file}#y.txt`, A];
          const t0 = performance.now();
          const out = await runWith(names, { onError });
          expect(performance.now() - t0).toBeLessThan(5000);
          if (out.error !== null) {
            failures++;
            expect(onError).toBe('raise');
            expect(out.error).toBeInstanceOf(InputError);
            expect((out.error as InputError).file?.startsWith(file)).toBe(true);
            return;
          }
          expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
          expect(out.records.at(-1)?.key).toBe(A);
          const y = out.records.find((r) => r.key === `${file}#y.txt`);
          if (y) expect(y.value.length).toBeLessThanOrEqual(3);
          else failures++;
        },
      ),
      { numRuns: 120 },
    );
    expect(failures).toBeGreaterThan(10);
  });
});
