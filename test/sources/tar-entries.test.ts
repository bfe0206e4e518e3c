import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveError,
  InputError,
  InvalidArgumentError,
  NotFoundError,
  TooManyErrorsError,
} from '../../src/core/errors.js';
import { globToRegExp } from '../../src/sources/glob.js';
import { type TarEntriesOptions, tarEntries } from '../../src/sources/tar-entries.js';
import {
  canListOpenFds,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
  thrownBy,
} from '../helpers/files.js';
import { tarOf } from '../helpers/tar.js';

let tmp: TempDir;
let plain: string;
let gz: string;
let tgzNamedTar: string;
const files: Record<string, Uint8Array> = {
  'd/a.bin': pseudoRandomBytes(300_000, 1),
  'd/sub/b.txt': new TextEncoder().encode('hello\n'),
  'd/sub/deep/c.bin': pseudoRandomBytes(5000, 2),
  'd/e.md': new TextEncoder().encode('# e\n'),
};

async function collect(archive: string, pattern?: string | string[]) {
  const out: Record<string, Uint8Array> = {};
  for await (const e of tarEntries(archive, { pattern, chunkBytes: 4096 })) {
    const parts: Uint8Array[] = [];
    for await (const c of e.chunks) parts.push(c);
    out[e.name] = new Uint8Array(Buffer.concat(parts));
    expect(out[e.name].length).toBe(e.size);
  }
  return out;
}

beforeAll(async () => {
  tmp = await makeTempDir('tar-entries');
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(join(tmp.dir, 'src', name, '..'), { recursive: true });
    await writeFile(join(tmp.dir, 'src', name), bytes);
  }
  plain = tmp.path('x.tar');
  gz = tmp.path('x.tar.gz');
  tgzNamedTar = tmp.path('gz-inside.tar');
  execFileSync('tar', ['-cf', plain, '-C', join(tmp.dir, 'src'), 'd']);
  execFileSync('tar', ['-czf', gz, '-C', join(tmp.dir, 'src'), 'd']);
  await writeFile(tgzNamedTar, await readFile(gz));
});
afterAll(() => tmp.cleanup());

describe('globToRegExp', () => {
  it.each([
    ['*.bin', 'a.bin', true],
    ['*.bin', 'd/a.bin', false],
    ['d/**', 'd/sub/deep/c.bin', true],
    ['**/*.bin', 'a.bin', true],
    ['**/*.bin', 'd/sub/deep/c.bin', true],
    ['d/**/c.bin', 'd/c.bin', true],
    ['d/?.bin', 'd/a.bin', true],
    ['d/?.bin', 'd/ab.bin', false],
    ['d/{a,e}.{bin,md}', 'd/e.md', true],
    ['d/{a,e}.{bin,md}', 'd/b.md', false],
    ['a+b(1).txt', 'a+b(1).txt', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
  ])('%s against %s is %s', (glob, name, expected) => {
    expect(globToRegExp(glob, 'test').test(name)).toBe(expected);
  });

  it('rejects unbalanced braces, a trailing backslash and an empty glob', () => {
    for (const g of ['{a,b', 'a\\', '']) {
      const err = thrownBy(() => globToRegExp(g, 'test'));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain('pattern');
    }
  });
});

describe('tarEntries', () => {
  it('streams every regular file of a .tar and of a .tar.gz with the bytes that were archived', async () => {
    for (const archive of [plain, gz]) {
      const got = await collect(archive);
      expect(Object.keys(got).sort()).toEqual(Object.keys(files).sort());
      for (const [name, bytes] of Object.entries(files)) expect(Buffer.compare(got[name], bytes)).toBe(0);
    }
  });

  it('detects gzip by its magic bytes, not by the name', async () => {
    const got = await collect(tgzNamedTar, 'd/a.bin');
    expect(Object.keys(got)).toEqual(['d/a.bin']);
    expect(Buffer.compare(got['d/a.bin'], files['d/a.bin'])).toBe(0);
  });

  it('selects entries by glob (one or several) and skips unread entries', async () => {
    expect(Object.keys(await collect(gz, '**/*.bin')).sort()).toEqual(['d/a.bin', 'd/sub/deep/c.bin']);
    expect(Object.keys(await collect(plain, ['d/*.md', 'd/sub/*.txt'])).sort()).toEqual([
      'd/e.md',
      'd/sub/b.txt',
    ]);
    const names: string[] = [];
    for await (const e of tarEntries(gz)) names.push(e.name); // bodies never read
    expect(names.sort()).toEqual(Object.keys(files).sort());
  });

  it('raises a NotFoundError naming a missing archive', async () => {
    const missing = tmp.path('nope.tar');
    const err = await rejectionOf(() => tarEntries(missing).toArray());
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(missing);
  });

  it('raises an ArchiveError naming the archive, entry and tar offset for truncated and corrupt archives', async () => {
    const bytes = await readFile(gz);
    const half = Math.floor(bytes.length / 2);
    const cut = await tmp.write('cut.tar.gz', bytes.subarray(0, half));
    const e1 = (await rejectionOf(() => collect(cut))) as ArchiveError;
    expect(e1).toBeInstanceOf(ArchiveError);
    expect(e1.message).toContain(cut);
    const inflated = gunzipSync(bytes.subarray(0, half), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).length;
    expect(e1).toMatchObject({ file: cut, key: `${cut}#d/a.bin`, stage: 'tarEntries' });
    // How far the tar parser got: at most what the cut stream inflates to, short of it by no more
    // than the inflated chunks still buffered when the error came.
    const offset = e1.offset!;
    expect(offset).toBeLessThanOrEqual(inflated);
    expect(offset).toBeGreaterThan(inflated - 4 * 65536);
    expect(e1.message).toContain(`truncated at byte offset ${offset} of the tar data inside entry "d/a.bin"`);
    expect(e1.message).toContain(`(${half} bytes of the gzipped file read)`);
    const tarBytes = new Uint8Array(await readFile(plain));
    const cutTar = await tmp.write('cut.tar', tarBytes.subarray(0, 100_000));
    const e2 = (await rejectionOf(() => collect(cutTar))) as ArchiveError;
    expect(e2).toBeInstanceOf(ArchiveError);
    expect(e2).toMatchObject({ file: cutTar, offset: 100_000 });
    expect(e2.message).toContain(cutTar);
    const garbage = await tmp.write('garbage.tar', pseudoRandomBytes(4096, 9));
    const e3 = (await rejectionOf(() => collect(garbage))) as ArchiveError;
    expect(e3).toBeInstanceOf(ArchiveError);
    expect(e3).toMatchObject({ file: garbage, offset: 0, key: undefined, parameter: 'archive' });
    expect(e3.message).toContain('corrupt (a bad tar header) at byte offset 0');
  });

  it('validates its options', () => {
    expect(thrownBy(() => tarEntries(''))).toBeInstanceOf(InvalidArgumentError);
    expect(thrownBy(() => tarEntries(gz, { pattern: [] }))).toBeInstanceOf(InvalidArgumentError);
    expect(thrownBy(() => tarEntries(gz, { chunkBytes: 0 })).message).toContain('chunkBytes');
  });

  it.runIf(canListOpenFds)('break closes the archive file', async () => {
    for await (const e of tarEntries(gz, { chunkBytes: 1024 })) {
      expect(openDescriptorsFor(gz)).toBe(1);
      for await (const _ of e.chunks) break;
      break;
    }
    expect(openDescriptorsFor(gz)).toBe(0);
  });
});

/** Reads every entry's bytes; returns the names read whole, the error and the stage's stats. */
async function drain(archive: string, options: TarEntriesOptions = {}) {
  const stream = tarEntries(archive, options);
  const names: string[] = [];
  const chunkErrors: unknown[] = [];
  let error: unknown = null;
  try {
    for await (const e of stream) {
      try {
        let n = 0;
        for await (const c of e.chunks) n += c.length;
        expect(n).toBe(e.size);
        names.push(e.name);
      } catch (err) {
        chunkErrors.push(err);
      }
    }
  } catch (err) {
    error = err;
  }
  const stats = stream.stats().find((s) => s.name === 'tar_entries')!;
  return { names, chunkErrors, error, stats, report: stream.report() };
}

describe('tarEntries: bad archives', () => {
  // a: header at 0, data 512..612 (padded to 1024); b: header at 1024, data 1536..6536 (to 6656);
  // c: header at 6656, data at 7168; end-of-archive marker from 7680.
  let layout: Uint8Array;
  beforeAll(async () => {
    layout = await tarOf([
      ['a.txt', 'a'.repeat(100)],
      ['b.bin', pseudoRandomBytes(5000, 4)],
      ['c.txt', 'c'],
    ]);
  });

  it('a bad header checksum: ArchiveError at the header, after the last good entry, which was delivered', async () => {
    const bytes = layout.slice();
    bytes[6656 + 3] ^= 0x20; // c.txt's name: its checksum no longer matches
    const file = await tmp.write('bad-sum.tar', bytes);
    const out = await drain(file);
    expect(out.names).toEqual(['a.txt', 'b.bin']);
    const err = out.error as ArchiveError;
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err).toMatchObject({ file, offset: 6656, key: undefined });
    expect(err.message).toContain(
      'corrupt (a bad tar header) at byte offset 6656 of the tar data after entry "b.bin"',
    );
  });

  it('cut inside an entry: the consumer reading it gets the ArchiveError, keyed archive#entry', async () => {
    const file = await tmp.write('cut-entry.tar', layout.subarray(0, 3000));
    const out = await drain(file);
    expect(out.names).toEqual(['a.txt']);
    const err = out.chunkErrors[0] as ArchiveError;
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err).toMatchObject({ file, offset: 3000, key: `${file}#b.bin` });
    expect(err.message).toContain('truncated at byte offset 3000 of the tar data inside entry "b.bin"');
    expect(out.error).toBeInstanceOf(ArchiveError);
  });

  it('cut between entries (no end-of-archive marker): an ArchiveError, not a quietly shorter archive', async () => {
    const file = await tmp.write('cut-boundary.tar', layout.subarray(0, 6656));
    const out = await drain(file);
    expect(out.names).toEqual(['a.txt', 'b.bin']);
    const err = out.error as ArchiveError;
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err).toMatchObject({ file, offset: 6656 });
    expect(err.message).toContain('truncated at byte offset 6656 of the tar data after entry "b.bin"');
    expect(err.message).toContain('end-of-archive marker');
  });

  it('a gzip stream corrupt in the middle: ArchiveError saying so', async () => {
    const big = await tarOf([['r.bin', pseudoRandomBytes(200_000, 5)]]);
    const z = gzipSync(big);
    const broken = z.slice();
    for (let i = 100_000; i < 100_064; i++) broken[i] ^= 0xff;
    const file = await tmp.write('corrupt.tgz', broken);
    const out = await drain(file);
    const err = (out.chunkErrors[0] ?? out.error) as ArchiveError;
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.file).toBe(file);
    expect(err.message).toMatch(/gzipped tar archive .* but it is (corrupt|truncated)/);
    expect(err.offset).toBeLessThan(200_000);
  });

  it('a zero-byte file, or one shorter than the end-of-archive marker, is no archive: ArchiveError at offset 0', async () => {
    // GNU tar and Python's tarfile refuse a zero-byte "archive" too: it is a failed download or a
    // cut file, not an archive with nothing in it.
    for (const [name, bytes, gzipped] of [
      ['zero.tar', new Uint8Array(0), false],
      ['one-zero-block.tar', new Uint8Array(512), false],
      ['zero.tar.gz', gzipSync(new Uint8Array(0)), true],
    ] as const) {
      const file = await tmp.write(name, bytes);
      const out = await drain(file);
      expect(out.names).toEqual([]);
      const err = out.error as ArchiveError;
      expect(err).toBeInstanceOf(ArchiveError);
      expect(err).toMatchObject({
        file,
        offset: 0,
        key: undefined,
        parameter: 'archive',
        stage: 'tarEntries',
      });
      expect(err.message).toContain(
        `Expected a ${gzipped ? 'gzipped ' : ''}tar archive in ${JSON.stringify(file)} but it is empty: ` +
          `no tar header and no end-of-archive marker (${bytes.length && !gzipped ? 512 : 0} bytes of tar data`,
      );
      const skipped = await drain(file, { onError: 'skip' });
      expect(skipped.error).toBeNull();
      expect(skipped.stats).toMatchObject({ read: 1, elementsOut: 0, skipped: 1 });
      expect(skipped.stats.skippedByReason).toEqual({ ArchiveError: { count: 1, firstKeys: [file] } });
    }
  });

  it('an empty archive (just the end-of-archive marker, as `tar cf x.tar -T /dev/null` writes) has no entries', async () => {
    for (const bytes of [new Uint8Array(1024), new Uint8Array(10240), gzipSync(new Uint8Array(10240))]) {
      const out = await drain(await tmp.write('empty-archive.tar', bytes));
      expect(out.error).toBeNull();
      expect(out.names).toEqual([]);
      expect(out.stats).toMatchObject({ read: 0, elementsOut: 0, skipped: 0 });
    }
  });

  it('a directory is a NotFoundError', async () => {
    const err = (await drain(tmp.dir)).error as NotFoundError;
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain('directory');
  });

  it('skip: the entries before the failure, then the archive ends as one skip; read = yielded + skipped', async () => {
    const file = await tmp.write('skip-cut.tar', layout.subarray(0, 3000));
    const out = await drain(file, { onError: 'skip' });
    expect(out.error).toBeNull();
    expect(out.names).toEqual(['a.txt']);
    // b.bin was delivered (its reader saw the error) and the failure counted once.
    expect(out.chunkErrors).toHaveLength(1);
    expect(out.stats).toMatchObject({ read: 3, elementsOut: 2, skipped: 1 });
    expect(out.stats.skippedByReason).toEqual({ ArchiveError: { count: 1, firstKeys: [`${file}#b.bin`] } });
    const bad = await tmp.write(
      'skip-sum.tar',
      layout.map((b, i) => (i === 6656 + 3 ? b ^ 0x20 : b)),
    );
    const out2 = await drain(bad, { onError: 'skip' });
    expect(out2.names).toEqual(['a.txt', 'b.bin']);
    expect(out2.stats).toMatchObject({ read: 3, elementsOut: 2, skipped: 1 });
    expect(out2.stats.skippedByReason).toEqual({ ArchiveError: { count: 1, firstKeys: [bad] } });
    const missing = tmp.path('skip-missing.tar');
    const out3 = await drain(missing, { onError: 'skip' });
    expect(out3.names).toEqual([]);
    expect(out3.report.stages).toEqual([
      {
        stage: 'tar_entries',
        read: 1,
        yielded: 0,
        skipped: 1,
        skippedByReason: { NotFoundError: { count: 1, firstKeys: [missing] } },
      },
    ]);
  });

  it('warn: one line for the failure; maxErrors 0 raises TooManyErrorsError at the first', async () => {
    const file = await tmp.write('warn.tar', layout.subarray(0, 6656));
    const lines: string[] = [];
    const out = await drain(file, { onError: 'warn', warn: (l) => lines.push(l) });
    expect(out.names).toEqual(['a.txt', 'b.bin']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`tarEntries: skipped ${file}:`);
    expect(lines[0]).toContain('end-of-archive marker');
    const strict = await drain(file, { onError: 'skip', maxErrors: 0 });
    expect(strict.error).toBeInstanceOf(TooManyErrorsError);
    expect((strict.error as TooManyErrorsError).cause).toBeInstanceOf(ArchiveError);
  });

  it('rejects bad policy options', () => {
    expect(thrownBy(() => tarEntries('x.tar', { onError: 'drop' as never })).message).toContain('onError');
    expect(thrownBy(() => tarEntries('x.tar', { maxErrors: -2 }))).toBeInstanceOf(InvalidArgumentError);
  });

  it('fuzzed (random, truncated, bit-flipped, empty; tar and tgz): typed errors only, no hang, read = yielded + skipped', async () => {
    let n = 0;
    let failed = 0;
    let clean = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(layout.length) }),
          fc.record({
            kind: fc.constant('flip' as const),
            flips: fc.array(fc.record({ at: fc.nat(layout.length - 1), bit: fc.nat(7) }), {
              minLength: 1,
              maxLength: 4,
            }),
          }),
          fc.record({ kind: fc.constant('random' as const), length: fc.nat(4000), seed: fc.integer() }),
          fc.constant({ kind: 'empty' as const }),
        ),
        fc.constantFrom('none' as const, 'before' as const, 'after' as const),
        fc.constantFrom('raise' as const, 'skip' as const),
        async (m, gzip, onError) => {
          let bytes: Uint8Array = gzip === 'after' ? gzipSync(layout) : layout;
          if (m.kind === 'truncate') bytes = bytes.subarray(0, Math.min(m.at, bytes.length));
          else if (m.kind === 'flip') {
            bytes = bytes.slice();
            for (const f of m.flips) bytes[f.at % bytes.length] ^= 1 << f.bit;
          } else if (m.kind === 'random') bytes = pseudoRandomBytes(m.length, m.seed);
          else bytes = new Uint8Array(0);
          if (gzip === 'before') bytes = gzipSync(bytes);
          const file = await tmp.write(`fuzz-${n++}.tar`, bytes);
          const t0 = performance.now();
          const out = await drain(file, { onError, chunkBytes: 1000 });
          expect(performance.now() - t0).toBeLessThan(5000);
          for (const e of [out.error, ...out.chunkErrors]) {
            if (e === null) continue;
            expect(e).toBeInstanceOf(InputError);
            expect((e as InputError).file).toBe(file);
          }
          if (out.error !== null || out.chunkErrors.length > 0) failed++;
          else clean++;
          if (onError === 'skip') {
            expect(out.error).toBeNull();
            expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
            expect(out.stats.skipped).toBeLessThanOrEqual(1);
          } else {
            // Under raise the archive whose error ends the stream is not counted in read.
            expect(out.stats.read).toBe(out.stats.elementsOut);
          }
          // Nothing at all, or tar data cut before the end of the first header: never a quietly
          // empty archive.
          if (m.kind === 'empty' || (m.kind === 'truncate' && m.at < 512 && gzip !== 'after')) {
            expect(out.names).toEqual([]);
            const failure = onError === 'skip' ? out.stats.skippedByReason.ArchiveError : out.error;
            expect(failure).toBeDefined();
            expect(failure).not.toBeNull();
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(failed).toBeGreaterThan(20);
    expect(clean).toBeGreaterThan(3);
  });
});
