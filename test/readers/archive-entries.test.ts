import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCifar10 } from '../../scripts/cifar-synth.js';
import { ArchiveError, InvalidArgumentError, NotFoundError } from '../../src/core/errors.js';
import { fixedLengthRecordReader } from '../../src/readers/fixed-length-record-reader.js';
import { wholeFileReader } from '../../src/readers/whole-file-reader.js';
import { archiveEntryNames, splitArchiveName } from '../../src/sources/archive-name.js';
import {
  canListOpenFds,
  makeTempDir,
  openDescriptorsFor,
  rejectionOf,
  type TempDir,
} from '../helpers/files.js';

let tmp: TempDir;
let tgz: string;
let tar: string;
const DIR = 'cifar-10-batches-bin';

beforeAll(async () => {
  tmp = await makeTempDir('archive-entries');
  await writeSyntheticCifar10(tmp.dir, { recordsPerFile: 50 });
  tgz = tmp.path('cifar-10-binary.tar.gz');
  tar = tmp.path('cifar-10-binary.tar');
  execFileSync('tar', ['-czf', tgz, '-C', tmp.dir, DIR]);
  execFileSync('tar', ['-cf', tar, '-C', tmp.dir, DIR]);
});
afterAll(() => tmp.cleanup());

describe('archive entry names', () => {
  it('splits <archive>#<entry> only after a .tar, .tgz or .tar.gz name', () => {
    expect(splitArchiveName('/d/x.tar.gz#a/b.bin')).toEqual({ archive: '/d/x.tar.gz', entry: 'a/b.bin' });
    expect(splitArchiveName('/d/x.tgz#b#c')).toEqual({ archive: '/d/x.tgz', entry: 'b#c' });
    expect(splitArchiveName('/d/a#b.tar#c')).toEqual({ archive: '/d/a#b.tar', entry: 'c' });
    expect(splitArchiveName('/d/file#1.bin')).toBeNull();
    expect(splitArchiveName('/d/x.tar#')).toBeNull();
  });

  it('archiveEntryNames lists matching entries, sorted, as reader names', async () => {
    const names = await archiveEntryNames(tgz, `${DIR}/data_batch_*.bin`);
    expect(names).toEqual([1, 2, 3, 4, 5].map((i) => `${tgz}#${DIR}/data_batch_${i}.bin`));
    expect(await archiveEntryNames(tar, '**/*.txt')).toEqual([`${tar}#${DIR}/batches.meta.txt`]);
    await expect(archiveEntryNames(tmp.path('x.zip'))).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('readers on archive entries', () => {
  it('fixedLengthRecordReader gives the records of the extracted file, keyed by the full name', async () => {
    const plain = join(tmp.dir, DIR, 'data_batch_2.bin');
    const expected = await fixedLengthRecordReader([plain], { recordBytes: 3073 }).toArray();
    for (const archive of [tar, tgz]) {
      const name = `${archive}#${DIR}/data_batch_2.bin`;
      const got = await fixedLengthRecordReader([name], { recordBytes: 3073, chunkBytes: 5000 }).toArray();
      expect(got.map((r) => r.key)).toEqual(expected.map((r) => r.key.replace(plain, name)));
      for (const [i, r] of got.entries()) expect(Buffer.compare(r.value, expected[i].value)).toBe(0);
    }
  });

  it('wholeFileReader reads the entry bytes', async () => {
    const name = `${tgz}#${DIR}/batches.meta.txt`;
    const [r] = await wholeFileReader([name]).toArray();
    expect(r.key).toBe(name);
    expect(Buffer.compare(r.value, await readFile(join(tmp.dir, DIR, 'batches.meta.txt')))).toBe(0);
  });

  it('a missing entry is a NotFoundError naming archive and entry', async () => {
    for (const read of [
      (n: string) => fixedLengthRecordReader([n], { recordBytes: 3073 }).toArray(),
      (n: string) => wholeFileReader([n]).toArray(),
    ]) {
      const err = await rejectionOf(() => read(`${tgz}#${DIR}/nope.bin`));
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toContain(tgz);
      expect(err.message).toContain(`${DIR}/nope.bin`);
    }
  });

  it('a truncated archive is an ArchiveError naming it, the entry and the offset in the tar data', async () => {
    const bytes = await readFile(tgz);
    const cut = await tmp.write('cut.tar.gz', bytes.subarray(0, 40_000));
    // What the cut gzip inflates to: the tar data ends there, inside some entry.
    const tarBytes = gunzipSync(bytes.subarray(0, 40_000), {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    }).length;
    for (const read of [
      (n: string) => fixedLengthRecordReader([n], { recordBytes: 3073 }).toArray(),
      (n: string) => wholeFileReader([n]).toArray(),
    ]) {
      const err = (await rejectionOf(() => read(`${cut}#${DIR}/data_batch_5.bin`))) as ArchiveError;
      expect(err).toBeInstanceOf(ArchiveError);
      expect(err.file).toBe(cut);
      // How far the tar parser got: short of what the cut inflates to by at most the buffered chunks.
      expect(err.offset).toBeLessThanOrEqual(tarBytes);
      expect(err.offset).toBeGreaterThan(tarBytes - 4 * 65536);
      expect(err.key?.startsWith(`${cut}#${DIR}/`)).toBe(true);
      expect(err.message).toContain(`byte offset ${err.offset} of the tar data`);
      expect(err.message).toContain('40000 bytes of the gzipped file read');
    }
  });

  it('under skip a bad entry is one skip of the reader, keyed by the full name', async () => {
    const bytes = await readFile(tgz);
    const cut = await tmp.write('cut2.tar.gz', bytes.subarray(0, 40_000));
    const good = `${tgz}#${DIR}/batches.meta.txt`;
    const bad = `${cut}#${DIR}/test_batch.bin`;
    const whole = wholeFileReader([bad, good], { onError: 'skip' });
    expect((await whole.toArray()).map((r) => r.key)).toEqual([good]);
    expect(whole.report().stages[0]).toMatchObject({ read: 2, yielded: 1, skipped: 1 });
    const records = fixedLengthRecordReader([bad, `${tgz}#${DIR}/test_batch.bin`], {
      recordBytes: 3073,
      onError: 'skip',
    });
    const got = await records.toArray();
    expect(got.filter((r) => r.key.startsWith(tgz))).toHaveLength(50);
    const stats = records.stats().find((s) => s.name === 'fixed_length_record_reader')!;
    expect(stats.skippedByReason).toEqual({ ArchiveError: { count: 1, firstKeys: [bad] } });
    expect(stats.read).toBe(got.length + 1);
  });

  it('encoding is refused for archive entries', async () => {
    const err = await rejectionOf(() =>
      fixedLengthRecordReader([`${tgz}#${DIR}/test_batch.bin`], {
        recordBytes: 3073,
        encoding: 'gzip',
      }).toArray(),
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain('encoding');
  });

  it.runIf(canListOpenFds)('break closes the archive file', async () => {
    for await (const _ of fixedLengthRecordReader([`${tgz}#${DIR}/data_batch_1.bin`], {
      recordBytes: 3073,
    })) {
      expect(openDescriptorsFor(tgz)).toBe(1);
      break;
    }
    expect(openDescriptorsFor(tgz)).toBe(0);
  });
});
