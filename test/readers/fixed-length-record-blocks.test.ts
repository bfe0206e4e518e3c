import { truncate } from 'node:fs/promises';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageStats } from '../../src/core/stats.js';
import {
  type FixedLengthRecordReaderOptions,
  fixedLengthRecordBlocks,
  fixedLengthRecordReader,
  NotFoundError,
  type RecordBlock,
  TruncatedRecordError,
} from '../../src/index.js';
import {
  canListOpenFds,
  drain,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  type TempDir,
  tick,
} from '../helpers/files.js';
import { tarOf } from '../helpers/tar.js';

let tmp: TempDir;
let n = 0;
beforeAll(async () => {
  tmp = await makeTempDir('record-blocks');
});
afterAll(() => tmp.cleanup());

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A block stream unpacked into records, as the record reader would have keyed them. */
function unpack(blocks: RecordBlock[], recordBytes: number, hopBytes: number) {
  const hop = hopBytes === 0 ? recordBytes : hopBytes;
  return blocks.flatMap((b) =>
    Array.from({ length: b.count }, (_, k) => ({
      key: `${b.file}:${b.first + k}`,
      value: hex(b.bytes.subarray(k * hop, k * hop + recordBytes)),
    })),
  );
}

/** The reader's own stage in a stream's stats. */
function readerStage(stream: { stats(): StageStats[] }): StageStats {
  const s = stream.stats().find((x) => x.name.startsWith('fixed_length_record_'));
  if (!s) throw new Error('no reader stage in stats()');
  return s;
}

async function both(files: string[], options: FixedLengthRecordReaderOptions) {
  const blocks = fixedLengthRecordBlocks(files, options);
  const b = await drain(blocks);
  const records = fixedLengthRecordReader(files, options);
  const r = await drain(records);
  return { b, r, blockStats: readerStage(blocks), recordStats: readerStage(records) };
}

describe('fixedLengthRecordBlocks', () => {
  it('gives exactly the record reader records, errors and counts (property: layouts, encodings, chunk sizes)', async () => {
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          recordBytes: fc.integer({ min: 1, max: 30 }),
          headerBytes: fc.integer({ min: 0, max: 8 }),
          footerBytes: fc.integer({ min: 0, max: 8 }),
          hopBytes: fc.integer({ min: 0, max: 40 }),
          chunkBytes: fc.integer({ min: 1, max: 100 }),
          encoding: fc.constantFrom(undefined, 'gzip' as const, 'zlib' as const),
          onError: fc.constantFrom('raise' as const, 'skip' as const),
          lengths: fc.array(fc.nat(400), { minLength: 1, maxLength: 3 }),
          seed: fc.integer(),
        }),
        async (c) => {
          const files: string[] = [];
          for (const [i, length] of c.lengths.entries()) {
            const data = pseudoRandomBytes(length, c.seed + i);
            const bytes =
              c.encoding === 'gzip' ? gzipSync(data) : c.encoding === 'zlib' ? deflateSync(data) : data;
            files.push(await tmp.write(`p${n++}`, bytes));
          }
          const { encoding, lengths: _, seed: __, ...layout } = c;
          const options = { ...layout, ...(encoding ? { encoding } : {}) };
          const { b, r, blockStats, recordStats } = await both(files, options);
          expect(unpack(b.out, c.recordBytes, c.hopBytes)).toEqual(
            r.out.map((x) => ({ key: x.key, value: hex(x.value) })),
          );
          for (const block of b.out) {
            expect(block.count).toBeGreaterThan(0);
            const hop = c.hopBytes === 0 ? c.recordBytes : c.hopBytes;
            expect(block.bytes.length).toBe((block.count - 1) * hop + c.recordBytes);
          }
          expect(b.error?.constructor).toBe(r.error?.constructor);
          expect((b.error as Error | undefined)?.message).toBe((r.error as Error | undefined)?.message);
          if (b.error) errors++;
          expect(blockStats.read).toBe(recordStats.read);
          expect(blockStats.skipped).toBe(recordStats.skipped);
        },
      ),
      { numRuns: 150 },
    );
    expect(errors).toBeGreaterThan(5); // truncated files were part of the cases
  });

  it('reads blocks of about chunkBytes each: a 1 MiB default chunk holds 341 CIFAR records', async () => {
    const file = await tmp.write(`cifar${n++}`, pseudoRandomBytes(3073 * 1000, 3));
    const blocks = await fixedLengthRecordBlocks([file], { recordBytes: 3073 }).toArray();
    expect(blocks.map((b) => b.count)).toEqual([341, 341, 318]);
    expect(blocks.map((b) => b.first)).toEqual([0, 341, 682]);
  });

  it('reads an archive entry like the record reader', async () => {
    const data = pseudoRandomBytes(5 * 7 + 3, 9);
    const archive = await tmp.write(`a${n++}.tar`, await tarOf([['d/x.bin', data]]));
    const { b, r } = await both([`${archive}#d/x.bin`], { recordBytes: 7, chunkBytes: 10 });
    expect(unpack(b.out, 7, 0)).toEqual(r.out.map((x) => ({ key: x.key, value: hex(x.value) })));
    expect(b.error).toBeInstanceOf(TruncatedRecordError);
    expect((b.error as TruncatedRecordError).offset).toBe(35);
  });

  it('names a missing file, and skips it under onError skip, counting it', async () => {
    const ok = await tmp.write(`ok${n++}`, Uint8Array.of(1, 2, 3, 4));
    const missing = tmp.path(`missing${n++}`);
    const raised = await drain(fixedLengthRecordBlocks([missing], { recordBytes: 2 }));
    expect(raised.error).toBeInstanceOf(NotFoundError);
    expect((raised.error as NotFoundError).file).toBe(missing);
    const skipping = fixedLengthRecordBlocks([missing, ok], { recordBytes: 2, onError: 'skip' });
    const skipped = await drain(skipping);
    expect(skipped.error).toBeUndefined();
    expect(skipped.out.map((x) => x.count)).toEqual([2]);
    expect(readerStage(skipping).skipped).toBe(1);
    expect(readerStage(skipping).read).toBe(3);
  });

  it("a read ahead that fails while the consumer is busy is that file's error, not an unhandled rejection", async () => {
    const file = await tmp.write(`shrink${n++}`, pseudoRandomBytes(4 * 1000, 5));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const s = fixedLengthRecordReader([file], { recordBytes: 4, chunkBytes: 400, onError: 'skip' });
      const it = s[Symbol.asyncIterator]();
      await it.next(); // block 0 read; block 1's read in flight
      await truncate(file, 0);
      for (let i = 0; i < 100; i++) await it.next(); // asks for block 1: block 2's read starts, and fails
      await new Promise((r) => setTimeout(r, 50)); // a slow consumer: the failed read waits unobserved
      let rest = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) rest++;
      expect(unhandled).toEqual([]);
      expect(rest).toBe(99); // block 1's records, then the file is skipped
      expect(readerStage(s).skippedByReason.TruncatedRecordError?.count).toBe(1);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('reuse: a block stays intact until the next block is asked for', async () => {
    const data = new Uint8Array(4 * 30).map((_, i) => Math.floor(i / 4));
    const file = await tmp.write(`reuse${n++}`, data);
    const it = fixedLengthRecordBlocks([file], { recordBytes: 4, chunkBytes: 40, reuse: true })[
      Symbol.asyncIterator
    ]();
    const seen: number[][] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      await new Promise((resolve) => setTimeout(resolve, 2)); // let the read ahead land
      seen.push(Array.from(r.value.bytes.subarray(0, r.value.count * 4)));
    }
    expect(seen.flat()).toEqual(Array.from(data));
  });

  it.skipIf(!canListOpenFds)('closes the file when the consumer stops after the first block', async () => {
    const file = await tmp.write(`big${n++}`, pseudoRandomBytes(64 * 100, 4));
    for await (const block of fixedLengthRecordBlocks([file], { recordBytes: 64, chunkBytes: 640 })) {
      expect(block.count).toBe(10);
      break;
    }
    await tick();
    expect(openDescriptorsFor(file)).toBe(0);
  });
});
