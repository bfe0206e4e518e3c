import { appendFile, chmod, mkdir, symlink, truncate, unlink } from 'node:fs/promises';
import { deflateSync, gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import fc from 'fast-check';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TooManyErrorsError } from '../../src/core/errors.js';
import type { StageStats } from '../../src/core/stats.js';
import {
  DecodeError,
  type FixedLengthRecordReaderOptions,
  fixedLengthRecordReader,
  InputError,
  InvalidArgumentError,
  type KeyValue,
  NotFoundError,
  type Source,
  stringInputProducer,
  TruncatedRecordError,
} from '../../src/index.js';
import {
  canListOpenFds,
  drain,
  fileHandleResources,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
  thrownBy,
  tick,
} from '../helpers/files.js';

type Encoding = 'gzip' | 'zlib' | undefined;

interface Layout {
  recordBytes: number;
  headerBytes: number;
  footerBytes: number;
  hopBytes: number;
}

interface ModelResult {
  /** Records TF's formula emits, with their file offsets. */
  records: { offset: number; bytes: Uint8Array }[];
  /** Set when the file ends inside a partial record (or is shorter than header + footer). */
  truncated: null | { short: true } | { short: false; offset: number; remaining: number };
}

/**
 * The reference model, straight from the spec over the whole (decompressed) file in memory: a record
 * starting at body offset p = k*hop is emitted iff p + R + F <= size - header; the file is truncated when
 * the tail after the last record is longer than the allowed hop gap max(0, hop - R) (no record at all: any
 * body byte), or when the file is shorter than header + footer (an empty file with header = footer = 0 is
 * fine).
 */
function model(data: Uint8Array, layout: Layout): ModelResult {
  const { recordBytes: R, headerBytes: h, footerBytes: F } = layout;
  const hop = layout.hopBytes === 0 ? R : layout.hopBytes;
  const records: ModelResult['records'] = [];
  if (data.length === 0 && h + F === 0) return { records, truncated: null };
  const L = data.length - h;
  const body = L - F;
  if (body < 0) return { records, truncated: { short: true } };
  for (let p = 0; p + R + F <= L; p += hop)
    records.push({ offset: h + p, bytes: data.slice(h + p, h + p + R) });
  const count = records.length;
  const used = count > 0 ? (count - 1) * hop + R : 0;
  const allowedGap = count > 0 ? Math.max(0, hop - R) : 0;
  if (body - used > allowedGap) {
    return { records, truncated: { short: false, offset: h + count * hop, remaining: body - count * hop } };
  }
  return { records, truncated: null };
}

function encode(data: Uint8Array, encoding: Encoding): Uint8Array {
  if (encoding === 'gzip') return gzipSync(data);
  if (encoding === 'zlib') return deflateSync(data);
  return data;
}

const hex = (v: Uint8Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

interface RunResult {
  records: KeyValue[];
  error: unknown;
  skipped: number;
}

/** Pulls the reader to its end (or first error), keeping what came before the error. */
async function run(filenames: Source<string>, options: FixedLengthRecordReaderOptions): Promise<RunResult> {
  const reader = fixedLengthRecordReader(filenames, options);
  const { out: records, error } = await drain(reader);
  const stage = reader.stats().find((s) => s.name === 'fixed_length_record_reader');
  if (!stage) throw new Error('no fixed_length_record_reader entry in stats()');
  return { records, error: error ?? null, skipped: stage.skipped };
}

let tmp: TempDir;
let fileCounter = 0;
const uniqueName = (stem: string) => `${stem}-${fileCounter++}.bin`;

beforeAll(async () => {
  tmp = await makeTempDir('flrr');
});

afterAll(async () => {
  await tmp.cleanup();
});

describe('fixedLengthRecordReader: layout', () => {
  it("cuts the reference's example: header 2, R=3, F=1, H=3, 12 bytes -> records at offsets 2, 5, 8", async () => {
    const data = Uint8Array.from({ length: 12 }, (_, i) => i);
    const file = await tmp.write(uniqueName('tf-example'), data);
    const out = await run([file], { recordBytes: 3, headerBytes: 2, footerBytes: 1, hopBytes: 3 });
    expect(out.error).toBeNull();
    expect(out.records.map((r) => r.key)).toEqual([`${file}:0`, `${file}:1`, `${file}:2`]);
    expect(out.records.map((r) => [...r.value])).toEqual([
      [2, 3, 4],
      [5, 6, 7],
      [8, 9, 10],
    ]);
  });

  it('keys are <filename>:<index>, values are whole records; views by default', async () => {
    const R = 3073;
    const data = pseudoRandomBytes(R * 5, 7);
    const file = await tmp.write(uniqueName('cifar-like'), data);
    const out = await run([file], { recordBytes: R });
    expect(out.error).toBeNull();
    expect(out.records).toHaveLength(5);
    out.records.forEach((r, i) => {
      expect(r.key).toBe(`${file}:${i}`);
      expect(r.value).toBeInstanceOf(Uint8Array);
      expect(r.value.length).toBe(R);
      expect(hex(r.value)).toBe(hex(data.subarray(i * R, (i + 1) * R)));
      expect(r.value.buffer.byteLength).toBeGreaterThan(R);
    });
  });

  it('overlapping windows (hop < record) and gaps (hop > record)', async () => {
    const data = Uint8Array.from({ length: 10 }, (_, i) => i);
    const file = await tmp.write(uniqueName('hops'), data);
    const overlap = await run([file], { recordBytes: 4, hopBytes: 2 });
    expect(overlap.error).toBeNull();
    expect(overlap.records.map((r) => [...r.value])).toEqual([
      [0, 1, 2, 3],
      [2, 3, 4, 5],
      [4, 5, 6, 7],
      [6, 7, 8, 9],
    ]);
    // hop > record: records at 0, 4 and 8, the bytes between them skipped.
    const gaps = await run([file], { recordBytes: 2, hopBytes: 4 });
    expect(gaps.error).toBeNull();
    expect(gaps.records.map((r) => [...r.value])).toEqual([
      [0, 1],
      [4, 5],
      [8, 9],
    ]);
    // A trailing gap shorter than the hop gap is fine: records at 0, 5; tail of 2 <= 5 - 3.
    const short = await run([file], { recordBytes: 3, hopBytes: 5 });
    expect(short.error).toBeNull();
    expect(short.records.map((r) => [...r.value])).toEqual([
      [0, 1, 2],
      [5, 6, 7],
    ]);
  });

  it('values are owned copies with copy: true (plain, gzip and zlib)', async () => {
    const R = 100;
    const data = pseudoRandomBytes(R * 40, 3);
    for (const encoding of [undefined, 'gzip', 'zlib'] as const) {
      const file = await tmp.write(uniqueName(`copy-${encoding}`), encode(data, encoding));
      const out = await run([file], { recordBytes: R, encoding, copy: true });
      expect(out.error).toBeNull();
      expect(out.records).toHaveLength(40);
      out.records.forEach((r, i) => {
        expect(r.value.byteOffset).toBe(0);
        expect(r.value.buffer.byteLength).toBe(R);
        expect(hex(r.value)).toBe(hex(data.subarray(i * R, (i + 1) * R)));
      });
      const views = await run([file], { recordBytes: R, encoding });
      expect(views.records.every((r) => r.value.buffer.byteLength > R)).toBe(true);
    }
  });

  it('an empty file with header = footer = 0 gives no records and no error, then the next file', async () => {
    const empty = await tmp.write(uniqueName('empty'), new Uint8Array(0));
    const next = await tmp.write(uniqueName('after-empty'), Uint8Array.of(1, 2, 3, 4));
    const out = await run([empty, next], { recordBytes: 2 });
    expect(out.error).toBeNull();
    expect(out.records.map((r) => r.key)).toEqual([`${next}:0`, `${next}:1`]);
    for (const encoding of ['gzip', 'zlib'] as const) {
      const z = await tmp.write(uniqueName(`empty-${encoding}`), encode(new Uint8Array(0), encoding));
      const zOut = await run([z], { recordBytes: 2, encoding });
      expect(zOut.error).toBeNull();
      expect(zOut.records).toEqual([]);
    }
  });

  it('a file of exactly header + footer bytes gives no records and no error', async () => {
    const file = await tmp.write(uniqueName('header-footer-only'), Uint8Array.of(1, 2, 3));
    const out = await run([file], { recordBytes: 4, headerBytes: 2, footerBytes: 1 });
    expect(out.error).toBeNull();
    expect(out.records).toEqual([]);
  });

  it('a footer is never part of a record', async () => {
    const data = Uint8Array.from({ length: 11 }, (_, i) => i);
    const file = await tmp.write(uniqueName('footer'), data);
    const out = await run([file], { recordBytes: 4, headerBytes: 1, footerBytes: 2 });
    expect(out.error).toBeNull();
    expect(out.records.map((r) => [...r.value])).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });
});

describe('fixedLengthRecordReader: truncated records', () => {
  for (const encoding of [undefined, 'gzip', 'zlib'] as const) {
    it(`raises TruncatedRecordError naming file, offset, recordBytes and the remaining length (${encoding ?? 'plain'})`, async () => {
      // header 3, two 4-byte records at 3 and 7, then a partial record of 2 bytes at offset 11.
      const data = Uint8Array.from({ length: 13 }, (_, i) => i);
      const file = await tmp.write(uniqueName(`trunc-${encoding}`), encode(data, encoding));
      const out = await run([file], { recordBytes: 4, headerBytes: 3, encoding });
      expect(out.records.map((r) => [...r.value])).toEqual([
        [3, 4, 5, 6],
        [7, 8, 9, 10],
      ]);
      const err = out.error as TruncatedRecordError;
      expect(err).toBeInstanceOf(TruncatedRecordError);
      expect(err).toBeInstanceOf(InputError);
      expect(err.file).toBe(file);
      expect(err.offset).toBe(11);
      expect(err.message).toContain(file);
      expect(err.message).toMatch(/\b11\b/);
      expect(err.message).toMatch(/recordBytes = 4\b/);
      expect(err.message).toMatch(/only 2 remain/);
    });

    it(`onTruncated: 'skip' drops the partial record and counts it in stats().skipped (${encoding ?? 'plain'})`, async () => {
      const data = Uint8Array.from({ length: 13 }, (_, i) => i);
      const file = await tmp.write(uniqueName(`skip-${encoding}`), encode(data, encoding));
      // A clean file (header 3 + one record), then another truncated one (header 3 + one record + 2).
      const clean = await tmp.write(
        uniqueName(`skip-clean-${encoding}`),
        encode(new Uint8Array(7).fill(9), encoding),
      );
      const again = await tmp.write(
        uniqueName(`skip-again-${encoding}`),
        encode(new Uint8Array(9).fill(8), encoding),
      );
      const out = await run([file, clean, again], {
        recordBytes: 4,
        headerBytes: 3,
        encoding,
        onTruncated: 'skip',
      });
      expect(out.error).toBeNull();
      expect(out.records.map((r) => r.key)).toEqual([`${file}:0`, `${file}:1`, `${clean}:0`, `${again}:0`]);
      expect(out.records.map((r) => [...r.value])).toEqual([
        [3, 4, 5, 6],
        [7, 8, 9, 10],
        [9, 9, 9, 9],
        [8, 8, 8, 8],
      ]);
      expect(out.skipped).toBe(2);
    });
  }

  it('a file shorter than header + footer is truncated (error, or skipped)', async () => {
    const file = await tmp.write(uniqueName('short'), Uint8Array.of(1, 2));
    const out = await run([file], { recordBytes: 1, headerBytes: 2, footerBytes: 1 });
    expect(out.records).toEqual([]);
    expect(out.error).toBeInstanceOf(TruncatedRecordError);
    expect((out.error as TruncatedRecordError).file).toBe(file);
    expect((out.error as Error).message).toContain(file);
    const skipped = await run([file], {
      recordBytes: 1,
      headerBytes: 2,
      footerBytes: 1,
      onTruncated: 'skip',
    });
    expect(skipped.error).toBeNull();
    expect(skipped.records).toEqual([]);
    expect(skipped.skipped).toBe(1);
  });

  it('an empty file with a header is truncated', async () => {
    const file = await tmp.write(uniqueName('empty-with-header'), new Uint8Array(0));
    const out = await run([file], { recordBytes: 1, headerBytes: 1 });
    expect(out.error).toBeInstanceOf(TruncatedRecordError);
  });

  it('a non-empty file too short for one record is truncated at the first record', async () => {
    const file = await tmp.write(uniqueName('too-short'), Uint8Array.of(1, 2, 3));
    const out = await run([file], { recordBytes: 5, hopBytes: 10 });
    expect(out.records).toEqual([]);
    const err = out.error as TruncatedRecordError;
    expect(err).toBeInstanceOf(TruncatedRecordError);
    expect(err.offset).toBe(0);
    expect(err.message).toMatch(/only 3 remain/);
  });
});

describe('fixedLengthRecordReader: property against the reference model', () => {
  const caseArb = fc.record({
    recordBytes: fc.integer({ min: 1, max: 40 }),
    headerBytes: fc.integer({ min: 0, max: 10 }),
    footerBytes: fc.integer({ min: 0, max: 10 }),
    hopBytes: fc.integer({ min: 0, max: 50 }),
    chunkBytes: fc.integer({ min: 1, max: 64 }),
    copy: fc.boolean(),
    onTruncated: fc.constantFrom('error' as const, 'skip' as const),
    seed: fc.integer(),
    // Random lengths are mostly truncated; also build well-formed files and near misses on purpose.
    shape: fc.oneof(
      fc.record({ kind: fc.constant('random' as const), length: fc.nat(700) }),
      fc.record({
        kind: fc.constant('wellFormed' as const),
        records: fc.nat(25),
        gap: fc.nat(60),
        delta: fc.constant(0),
      }),
      fc.record({
        kind: fc.constant('nearMiss' as const),
        records: fc.nat(25),
        gap: fc.nat(60),
        delta: fc.integer({ min: -3, max: 3 }),
      }),
    ),
  });

  type CaseValue = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

  function lengthFor(c: CaseValue): number {
    if (c.shape.kind === 'random') return c.shape.length;
    const R = c.recordBytes;
    const hop = c.hopBytes === 0 ? R : c.hopBytes;
    const n = c.shape.records;
    const used = n > 0 ? (n - 1) * hop + R : 0;
    const allowedGap = n > 0 ? Math.max(0, hop - R) : 0;
    const gap = c.shape.gap % (allowedGap + 1);
    return Math.max(0, c.headerBytes + used + gap + c.footerBytes + c.shape.delta);
  }

  for (const encoding of [undefined, 'gzip', 'zlib'] as const) {
    it(`matches the model (${encoding ?? 'plain'}, chunkBytes 1..64, copy true/false)`, async () => {
      let truncatedCases = 0;
      let cleanCases = 0;
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          const data = pseudoRandomBytes(lengthFor(c), c.seed);
          const layout: Layout = {
            recordBytes: c.recordBytes,
            headerBytes: c.headerBytes,
            footerBytes: c.footerBytes,
            hopBytes: c.hopBytes,
          };
          const expected = model(data, layout);
          const file = await tmp.write(uniqueName(`prop-${encoding}`), encode(data, encoding));
          const out = await run([file], {
            ...layout,
            encoding,
            chunkBytes: c.chunkBytes,
            copy: c.copy,
            onTruncated: c.onTruncated,
          });
          expect(out.records.map((r) => r.key)).toEqual(expected.records.map((_, i) => `${file}:${i}`));
          expect(out.records.map((r) => hex(r.value))).toEqual(expected.records.map((r) => hex(r.bytes)));
          for (const r of out.records) {
            expect(r.value.length).toBe(c.recordBytes);
            if (c.copy) {
              expect(r.value.byteOffset).toBe(0);
              expect(r.value.buffer.byteLength).toBe(c.recordBytes);
            }
          }
          const t = expected.truncated;
          if (t === null) {
            cleanCases++;
            expect(out.error).toBeNull();
            expect(out.skipped).toBe(0);
          } else if (c.onTruncated === 'skip') {
            truncatedCases++;
            expect(out.error).toBeNull();
            expect(out.skipped).toBe(1);
          } else {
            truncatedCases++;
            expect(out.error).toBeInstanceOf(TruncatedRecordError);
            const err = out.error as TruncatedRecordError;
            expect(err.file).toBe(file);
            expect(err.message).toContain(file);
            if (!t.short) {
              expect(err.offset).toBe(t.offset);
              expect(err.message).toContain(`at byte offset ${t.offset}`);
              expect(err.message).toContain(`recordBytes = ${c.recordBytes}`);
              expect(err.message).toContain(`only ${t.remaining} remain`);
            }
          }
        }),
        { numRuns: 250 },
      );
      // The generator must exercise both outcomes, or the property proves little.
      expect(truncatedCases).toBeGreaterThan(10);
      expect(cleanCases).toBeGreaterThan(10);
    });
  }

  it('matches the model on a compressed file spanning many inflate chunks (3073-byte records)', async () => {
    const R = 3073;
    const data = pseudoRandomBytes(R * 60 + 5 + 7, 11); // header 5, footer 7
    const layout: Layout = { recordBytes: R, headerBytes: 5, footerBytes: 7, hopBytes: 0 };
    const expected = model(data, layout);
    expect(expected.truncated).toBeNull();
    for (const encoding of ['gzip', 'zlib'] as const) {
      for (const chunkBytes of [1000, 1 << 20]) {
        const file = await tmp.write(uniqueName(`big-${encoding}`), encode(data, encoding));
        const out = await run([file], { ...layout, encoding, chunkBytes });
        expect(out.error).toBeNull();
        expect(out.records.map((r) => hex(r.value))).toEqual(expected.records.map((r) => hex(r.bytes)));
      }
    }
  });
});

describe('fixedLengthRecordReader: several files', () => {
  it('reads files in sequence from stringInputProducer, indices restarting per file', async () => {
    const a = await tmp.write(uniqueName('seq-a'), Uint8Array.of(1, 1, 2, 2));
    const b = await tmp.write(uniqueName('seq-b'), Uint8Array.of(3, 3, 4, 4, 5, 5));
    const producer = stringInputProducer([a, b], { numEpochs: 2, shuffle: false });
    const out = await run(producer, { recordBytes: 2 });
    expect(out.error).toBeNull();
    expect(out.records.map((r) => r.key)).toEqual([
      `${a}:0`,
      `${a}:1`,
      `${b}:0`,
      `${b}:1`,
      `${b}:2`,
      `${a}:0`,
      `${a}:1`,
      `${b}:0`,
      `${b}:1`,
      `${b}:2`,
    ]);
    expect(out.records.map((r) => r.value[0])).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
  });

  it('accepts a plain array and an async iterable of filenames', async () => {
    const a = await tmp.write(uniqueName('arr-a'), Uint8Array.of(7, 8, 9));
    const b = await tmp.write(uniqueName('arr-b'), Uint8Array.of(10, 11, 12));
    const fromArray = await fixedLengthRecordReader([a, b, a], { recordBytes: 3 }).toArray();
    expect(fromArray.map((r) => r.key)).toEqual([`${a}:0`, `${b}:0`, `${a}:0`]);
    expect(fromArray.map((r) => [...r.value])).toEqual([
      [7, 8, 9],
      [10, 11, 12],
      [7, 8, 9],
    ]);
    async function* names() {
      yield b;
      yield a;
    }
    const fromAsync = await fixedLengthRecordReader(names(), { recordBytes: 1 }).toArray();
    expect(fromAsync.map((r) => r.key)).toEqual([`${b}:0`, `${b}:1`, `${b}:2`, `${a}:0`, `${a}:1`, `${a}:2`]);
  });

  it('is cold: every iteration reads the files again', async () => {
    const a = await tmp.write(uniqueName('cold'), Uint8Array.of(1, 2, 3, 4));
    const reader = fixedLengthRecordReader([a], { recordBytes: 2 });
    expect((await reader.toArray()).length).toBe(2);
    expect((await reader.toArray()).length).toBe(2);
  });
});

describe('fixedLengthRecordReader: file errors', () => {
  for (const encoding of [undefined, 'gzip', 'zlib'] as const) {
    const label = encoding ?? 'plain';
    it(`a missing file is a NotFoundError naming it (${label})`, async () => {
      const missing = tmp.path(uniqueName(`missing-${label}`));
      const err = await rejectionOf(() =>
        fixedLengthRecordReader([missing], { recordBytes: 4, encoding }).toArray(),
      );
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toContain(missing);
      expect(err.message).toContain('no such file');
      expect((err as NotFoundError).file).toBe(missing);
    });

    it(`a directory is a NotFoundError saying so (${label})`, async () => {
      const dir = tmp.path(uniqueName(`dir-${label}`));
      await mkdir(dir);
      // Records larger than a directory's reported size (4096 on Linux) too, and under 'skip'.
      for (const recordBytes of [4, 5000]) {
        for (const onTruncated of ['error', 'skip'] as const) {
          const err = await rejectionOf(() =>
            fixedLengthRecordReader([dir], { recordBytes, encoding, onTruncated }).toArray(),
          );
          expect(err).toBeInstanceOf(NotFoundError);
          expect(err.message).toContain(dir);
          expect(err.message).toContain('directory');
        }
      }
    });

    it(`an unreadable path (symlink loop, unreadable even as root) is a NotFoundError (${label})`, async () => {
      const loop = tmp.path(uniqueName(`loop-${label}`));
      await symlink(loop, loop);
      const err = await rejectionOf(() =>
        fixedLengthRecordReader([loop], { recordBytes: 4, encoding }).toArray(),
      );
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toContain(loop);
      expect(err.message).toContain('ELOOP');
    });

    it.skipIf(process.getuid?.() === 0)(`an unreadable file is a NotFoundError (${label})`, async () => {
      const file = await tmp.write(
        uniqueName(`noperm-${label}`),
        encode(Uint8Array.of(1, 2, 3, 4), encoding),
      );
      await chmod(file, 0o000);
      const err = await rejectionOf(() =>
        fixedLengthRecordReader([file], { recordBytes: 4, encoding }).toArray(),
      );
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toContain(file);
      expect(err.message).toContain('permission denied');
    });
  }

  for (const encoding of ['gzip', 'zlib'] as const) {
    it(`corrupt ${encoding} data is a DecodeError naming the file`, async () => {
      const notCompressed = await tmp.write(uniqueName(`corrupt-${encoding}`), pseudoRandomBytes(500, 5));
      const err = await rejectionOf(() =>
        fixedLengthRecordReader([notCompressed], { recordBytes: 4, encoding }).toArray(),
      );
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toContain(notCompressed);
      expect((err as DecodeError).file).toBe(notCompressed);

      const whole = encode(pseudoRandomBytes(4000, 6), encoding);
      const cut = await tmp.write(uniqueName(`cut-${encoding}`), whole.subarray(0, whole.length >> 1));
      const cutErr = await rejectionOf(() =>
        fixedLengthRecordReader([cut], { recordBytes: 4, encoding }).toArray(),
      );
      expect(cutErr).toBeInstanceOf(DecodeError);
      expect(cutErr.message).toContain(cut);
    });
  }
});

describe('fixedLengthRecordReader: options', () => {
  const files = ['unused.bin'];
  const cases: [string, unknown, string][] = [
    ['recordBytes', { recordBytes: 0 }, '0'],
    ['recordBytes', { recordBytes: -1 }, '-1'],
    ['recordBytes', { recordBytes: 1.5 }, '1.5'],
    ['recordBytes', {}, 'undefined'],
    ['recordBytes', { recordBytes: '4' }, '"4"'],
    ['headerBytes', { recordBytes: 4, headerBytes: -1 }, '-1'],
    ['footerBytes', { recordBytes: 4, footerBytes: -1 }, '-1'],
    ['hopBytes', { recordBytes: 4, hopBytes: -1 }, '-1'],
    ['encoding', { recordBytes: 4, encoding: 'bz2' }, '"bz2"'],
    ['onTruncated', { recordBytes: 4, onTruncated: 'ignore' }, '"ignore"'],
    ['chunkBytes', { recordBytes: 4, chunkBytes: 0 }, '0'],
    ['copy', { recordBytes: 4, copy: 'yes' }, '"yes"'],
    ['options', 5, '5'],
    ['options', 'recordBytes', '"recordBytes"'],
    ['options', null, 'null'],
  ];
  for (const [name, options, received] of cases) {
    it(`rejects ${name} = ${JSON.stringify(options)} at construction`, () => {
      const err = thrownBy(() => fixedLengthRecordReader(files, options as FixedLengthRecordReaderOptions));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).parameter).toBe(name);
      expect(err.message).toMatch(
        new RegExp(`Expected .+ for ${name} but received ${escapeRegExp(received)}$`),
      );
    });
  }
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('fixedLengthRecordReader: cancellation closes the file', () => {
  for (const encoding of [undefined, 'gzip', 'zlib'] as const) {
    const label = encoding ?? 'plain';
    it(`breaking out of for await after the first record (${label})`, async () => {
      const file = await tmp.write(
        uniqueName(`cancel-${label}`),
        encode(pseudoRandomBytes(64 * 1000, 9), encoding),
      );
      await tick();
      const handlesBefore = fileHandleResources();
      let seen = 0;
      let openWhileReading = -1;
      for await (const r of fixedLengthRecordReader([file], { recordBytes: 64, encoding, chunkBytes: 256 })) {
        expect(r.key).toBe(`${file}:0`);
        seen++;
        openWhileReading = openDescriptorsFor(file);
        break;
      }
      expect(seen).toBe(1);
      await tick();
      expect(fileHandleResources()).toBeLessThanOrEqual(handlesBefore);
      if (canListOpenFds) {
        expect(openWhileReading).toBe(1); // the check below can see an open file
        expect(openDescriptorsFor(file)).toBe(0);
      }
    });

    it(`unsubscribing after the first value (${label})`, async () => {
      const file = await tmp.write(
        uniqueName(`unsub-${label}`),
        encode(pseudoRandomBytes(64 * 1000, 10), encoding),
      );
      const first = await firstValueFrom<KeyValue>(
        fixedLengthRecordReader([file], { recordBytes: 64, encoding, chunkBytes: 256 }),
      );
      expect(first.key).toBe(`${file}:0`);
      // Unsubscribing cannot be awaited: teardown closes asynchronously (on a busy machine the
      // thread-pool close can take many turns of the loop); it must happen within a bounded time.
      const deadline = Date.now() + 3000;
      while (openDescriptorsFor(file) > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      expect(openDescriptorsFor(file)).toBe(0);
    });
  }

  it('an error closes the file too', async () => {
    const file = await tmp.write(uniqueName('error-close'), pseudoRandomBytes(10, 1));
    const out = await run([file], { recordBytes: 4 });
    expect(out.error).toBeInstanceOf(TruncatedRecordError);
    await tick();
    expect(openDescriptorsFor(file)).toBe(0);
  });
});

describe('fixedLengthRecordReader: plain files are read as they were when opened', () => {
  it('a file that grows while it is read yields the records it had when opened', async () => {
    const file = await tmp.write(
      uniqueName('growing'),
      new Uint8Array(40).map((_, i) => i),
    );
    const it = fixedLengthRecordReader([file], { recordBytes: 4, chunkBytes: 4 })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.key).toBe(`${file}:0`);
    const { appendFile } = await import('node:fs/promises');
    await appendFile(file, new Uint8Array(400));
    let count = 1;
    while (!(await it.next()).done) count++;
    expect(count).toBe(10);
  });

  it('a large footer is cut off without reading it per record', async () => {
    const records = 50;
    const footer = 1 << 20;
    const data = new Uint8Array(records * 8 + footer);
    for (let i = 0; i < records; i++) data[i * 8] = i;
    const file = await tmp.write(uniqueName('big-footer'), data);
    const t0 = performance.now();
    const out = await fixedLengthRecordReader([file], {
      recordBytes: 8,
      footerBytes: footer,
      chunkBytes: 64,
    }).toArray();
    expect(out.map((r) => r.value[0])).toEqual(Array.from({ length: records }, (_, i) => i));
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

const STAGE_NAME = 'fixed_length_record_reader';

function readerStats(stream: { stats(): StageStats[] }): StageStats {
  const s = stream.stats().find((x) => x.name === STAGE_NAME);
  if (!s) throw new Error(`no ${STAGE_NAME} entry in stats()`);
  return s;
}

/** Reads to the end or the first error, returning the records, the error and the reader's stats. */
async function runWith(filenames: string[], options: FixedLengthRecordReaderOptions) {
  const reader = fixedLengthRecordReader(filenames, options);
  const { out: records, error } = await drain(reader);
  return { records, error: error ?? null, stats: readerStats(reader), report: reader.report() };
}

/** The bytes of a gzip stream cut at `at`, inflated as far as they go (what a reader sees before the error). */
const inflatedPrefix = (gz: Uint8Array, at: number) =>
  gunzipSync(gz.subarray(0, at), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).length;

describe('fixedLengthRecordReader: error policy', () => {
  it('raise (default): the typed errors carry file, offset, key, parameter and stage', async () => {
    const trunc = await tmp.write(uniqueName('raise-trunc'), new Uint8Array(4 * 2 + 3));
    const t = (await runWith([trunc], { recordBytes: 4 })).error as TruncatedRecordError;
    expect(t).toBeInstanceOf(TruncatedRecordError);
    expect(t).toMatchObject({
      file: trunc,
      offset: 8,
      key: `${trunc}:2`,
      parameter: 'recordBytes',
      stage: 'fixedLengthRecordReader',
    });
    const missing = tmp.path(uniqueName('raise-missing'));
    const m = (await runWith([missing], { recordBytes: 4 })).error as NotFoundError;
    expect(m).toBeInstanceOf(NotFoundError);
    expect(m).toMatchObject({ file: missing, parameter: 'filename', stage: 'fixedLengthRecordReader' });
  });

  it('raise: the record or file whose error ends the stream is not counted; read = yielded + skipped', async () => {
    const trunc = await tmp.write(uniqueName('count-trunc'), new Uint8Array(4 * 3 + 1));
    const t = await runWith([trunc], { recordBytes: 4 });
    expect(t.error).toBeInstanceOf(TruncatedRecordError);
    expect(t.records).toHaveLength(3);
    expect(t.stats).toMatchObject({ read: 3, elementsOut: 3, skipped: 0 });
    const good = await tmp.write(uniqueName('count-good'), new Uint8Array(8));
    const m = await runWith([good, tmp.path(uniqueName('count-missing'))], { recordBytes: 4 });
    expect(m.error).toBeInstanceOf(NotFoundError);
    expect(m.stats).toMatchObject({ read: 2, elementsOut: 2, skipped: 0 });
    // Past maxErrors the last skip is recorded before TooManyErrorsError, and counted with it.
    const bounded = await runWith([trunc, trunc], { recordBytes: 4, onError: 'skip', maxErrors: 1 });
    expect(bounded.error).toBeInstanceOf(TooManyErrorsError);
    expect(bounded.stats).toMatchObject({ read: 8, elementsOut: 6, skipped: 2 });
  });

  it('a file name that is not a string raises InvalidArgumentError under every policy and closes the upstream', async () => {
    for (const onError of ['raise', 'skip'] as const) {
      let closed = false;
      async function* names(): AsyncGenerator<string> {
        try {
          yield 42 as unknown as string;
          yield 'never read';
        } finally {
          closed = true;
        }
      }
      const reader = fixedLengthRecordReader(names(), { recordBytes: 1, onError });
      const { error } = await drain(reader);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ parameter: 'filenames', stage: 'fixedLengthRecordReader' });
      expect(closed).toBe(true);
      expect(readerStats(reader)).toMatchObject({ done: true, read: 0 });
    }
  });

  it('gzip corrupt mid-stream: a DecodeError naming the file and the decompressed offset, records before it delivered', async () => {
    const data = pseudoRandomBytes(64 * 2000, 21);
    const gz = gzipSync(data);
    const cutAt = gz.length >> 1;
    const file = await tmp.write(uniqueName('gz-mid'), gz.subarray(0, cutAt));
    const out = await runWith([file], { recordBytes: 64, encoding: 'gzip', chunkBytes: 4096 });
    const err = out.error as DecodeError;
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ file, parameter: 'encoding', stage: 'fixedLengthRecordReader' });
    // The offset is how far the reader got: at most what the cut stream inflates to, and the
    // records before it were all delivered.
    const offset = err.offset!;
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(inflatedPrefix(gz, cutAt));
    expect(err.message).toContain(`byte offset ${offset} of the decompressed data`);
    expect(err.message).toContain(JSON.stringify(file));
    expect(out.records.length).toBe(Math.floor(offset / 64));
    // The file whose error ended the stream is not counted: read = yielded + skipped still holds.
    expect(out.stats).toMatchObject({
      read: out.records.length,
      elementsOut: out.records.length,
      skipped: 0,
    });
  });

  it('skip: bad files are skipped whole, a truncated record alone, and read = yielded + skipped', async () => {
    const good1 = await tmp.write(uniqueName('skip-good1'), Uint8Array.of(1, 1, 1, 1, 2, 2, 2, 2));
    const missing = tmp.path(uniqueName('skip-missing'));
    const dir = tmp.path(uniqueName('skip-dir'));
    await mkdir(dir);
    const trunc = await tmp.write(uniqueName('skip-trunc'), Uint8Array.of(3, 3, 3, 3, 9));
    const good2 = await tmp.write(uniqueName('skip-good2'), Uint8Array.of(4, 4, 4, 4));
    const out = await runWith([good1, missing, dir, trunc, good2], { recordBytes: 4, onError: 'skip' });
    expect(out.error).toBeNull();
    expect(out.records.map((r) => r.key)).toEqual([`${good1}:0`, `${good1}:1`, `${trunc}:0`, `${good2}:0`]);
    expect(out.stats.read).toBe(7);
    expect(out.stats.skipped).toBe(3);
    expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
    expect(out.stats.skippedByReason).toEqual({
      NotFoundError: { count: 2, firstKeys: [missing, dir] },
      TruncatedRecordError: { count: 1, firstKeys: [`${trunc}:1`] },
    });
    const line = out.report.stages.find((s) => s.stage === STAGE_NAME);
    expect(line).toMatchObject({ read: 7, yielded: 4, skipped: 3 });
    expect(out.report.skipped).toBe(3);
  });

  for (const encoding of ['gzip', 'zlib'] as const) {
    it(`skip: a corrupt ${encoding} file is skipped after its good records, then the next file is read`, async () => {
      const whole = encode(pseudoRandomBytes(32 * 3000, 22), encoding);
      const cut = await tmp.write(uniqueName(`skip-cut-${encoding}`), whole.subarray(0, whole.length >> 1));
      const notCompressed = await tmp.write(uniqueName(`skip-raw-${encoding}`), pseudoRandomBytes(100, 23));
      const good = await tmp.write(
        uniqueName(`skip-good-${encoding}`),
        encode(new Uint8Array(64).fill(5), encoding),
      );
      const out = await runWith([cut, notCompressed, good], { recordBytes: 32, encoding, onError: 'skip' });
      expect(out.error).toBeNull();
      const fromCut = out.records.filter((r) => r.key.startsWith(`${cut}:`)).length;
      expect(fromCut).toBeGreaterThan(0);
      expect(out.records.slice(fromCut).map((r) => r.key)).toEqual([`${good}:0`, `${good}:1`]);
      expect(out.stats.skippedByReason).toEqual({
        DecodeError: { count: 2, firstKeys: [cut, notCompressed] },
      });
      expect(out.stats.read).toBe(out.records.length + 2);
    });
  }

  it('warn: one line per skip through the warn option, naming the key and the cause', async () => {
    const missing = tmp.path(uniqueName('warn-missing'));
    const trunc = await tmp.write(uniqueName('warn-trunc'), Uint8Array.of(1, 2, 3));
    const lines: string[] = [];
    const out = await runWith([missing, trunc], {
      recordBytes: 2,
      onError: 'warn',
      warn: (l) => lines.push(l),
    });
    expect(out.error).toBeNull();
    expect(out.records).toHaveLength(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`skipped ${missing}`);
    expect(lines[0]).toContain('no such file');
    expect(lines[1]).toContain(`skipped ${trunc}:1`);
    expect(lines[1]).toContain('only 1 remain');
    expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
  });

  it('maxErrors: one skip more than allowed raises TooManyErrorsError with the last error as cause', async () => {
    const a = tmp.path(uniqueName('max-a'));
    const b = tmp.path(uniqueName('max-b'));
    const good = await tmp.write(uniqueName('max-good'), Uint8Array.of(1, 2));
    const out = await runWith([good, a, b, good], { recordBytes: 2, onError: 'skip', maxErrors: 1 });
    expect(out.records.map((r) => r.key)).toEqual([`${good}:0`]);
    const err = out.error as TooManyErrorsError;
    expect(err).toBeInstanceOf(TooManyErrorsError);
    expect(err).toMatchObject({ key: b, parameter: 'maxErrors', stage: 'fixedLengthRecordReader' });
    expect((err.cause as NotFoundError).file).toBe(b);
    expect(out.stats.skipped).toBe(2);
  });

  it("onTruncated is the policy of truncated records only: 'skip' under raise, 'error' under skip", async () => {
    const trunc = await tmp.write(uniqueName('alias-trunc'), Uint8Array.of(1, 2, 3));
    const missing = tmp.path(uniqueName('alias-missing'));
    const a = await runWith([trunc, missing], { recordBytes: 2, onTruncated: 'skip' });
    expect(a.records).toHaveLength(1);
    expect(a.error).toBeInstanceOf(NotFoundError);
    expect(a.stats.skippedByReason).toEqual({
      TruncatedRecordError: { count: 1, firstKeys: [`${trunc}:1`] },
    });
    const b = await runWith([missing, trunc], { recordBytes: 2, onTruncated: 'error', onError: 'skip' });
    expect(b.records).toHaveLength(1);
    expect(b.error).toBeInstanceOf(TruncatedRecordError);
    expect(b.stats.skippedByReason).toEqual({ NotFoundError: { count: 1, firstKeys: [missing] } });
  });

  it('a bad option is never skipped: encoding on an archive entry raises under skip', async () => {
    const out = await runWith([`${tmp.dir}/x.tar#a.bin`], {
      recordBytes: 2,
      encoding: 'gzip',
      onError: 'skip',
    });
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect((out.error as InvalidArgumentError).parameter).toBe('encoding');
  });

  it.each([
    ['onError', { recordBytes: 4, onError: 'ignore' }],
    ['maxErrors', { recordBytes: 4, maxErrors: -1 }],
    ['warn', { recordBytes: 4, warn: 'stderr' }],
  ])('rejects a bad %s at construction', (name, options) => {
    const err = thrownBy(() => fixedLengthRecordReader([], options as never));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).parameter).toBe(name);
  });
});

describe('fixedLengthRecordReader: bytes after the compressed data', () => {
  it('a zlib file of two concatenated streams: DecodeError after the first stream, not a silent loss', async () => {
    const first = deflateSync(new Uint8Array(40).fill(1));
    const file = await tmp.write(
      uniqueName('zlib-two'),
      new Uint8Array(Buffer.concat([first, deflateSync(new Uint8Array(40).fill(2))])),
    );
    const out = await runWith([file], { recordBytes: 4, encoding: 'zlib' });
    expect(out.records).toHaveLength(10);
    expect(out.records.every((r) => r.value[0] === 1)).toBe(true);
    const err = out.error as DecodeError;
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ file, offset: first.length, parameter: 'encoding' });
    expect(err.message).toContain(`the compressed stream ends at byte offset ${first.length} of the file`);
    const skipped = await runWith([file], { recordBytes: 4, encoding: 'zlib', onError: 'skip' });
    expect(skipped.stats).toMatchObject({ read: 11, elementsOut: 10, skipped: 1 });
  });

  it('gzip members are all read; garbage after them is a DecodeError', async () => {
    const two = new Uint8Array(
      Buffer.concat([gzipSync(new Uint8Array(8).fill(1)), gzipSync(new Uint8Array(8).fill(2))]),
    );
    const ok = await tmp.write(uniqueName('gz-two'), two);
    expect(
      (await runWith([ok], { recordBytes: 4, encoding: 'gzip' })).records.map((r) => r.value[0]),
    ).toEqual([1, 1, 2, 2]);
    const bad = await tmp.write(
      uniqueName('gz-garbage'),
      new Uint8Array(Buffer.concat([two, Buffer.from('junk')])),
    );
    const err = (await runWith([bad], { recordBytes: 4, encoding: 'gzip' })).error as DecodeError;
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.file).toBe(bad);
  });
});

describe('fixedLengthRecordReader: files changing while read', () => {
  it('a plain file that shrinks while read: TruncatedRecordError naming the file and where it ended', async () => {
    const file = await tmp.write(uniqueName('shrink'), pseudoRandomBytes(4 * 100, 30));
    const it = fixedLengthRecordReader([file], { recordBytes: 4, chunkBytes: 8 })[Symbol.asyncIterator]();
    expect((await it.next()).value?.key).toBe(`${file}:0`);
    await truncate(file, 20);
    const err = await rejectionOf(async () => {
      while (!(await it.next()).done);
    });
    expect(err).toBeInstanceOf(TruncatedRecordError);
    expect(err).toMatchObject({ file, offset: 20, stage: 'fixedLengthRecordReader' });
    expect(err.message).toContain('shrank while being read');
    expect(err.message).toContain('400 bytes');
  });

  it('under skip a shrunk file counts once, keyed by its name, and the next file is read', async () => {
    const file = await tmp.write(uniqueName('shrink-skip'), pseudoRandomBytes(4 * 100, 31));
    const next = await tmp.write(uniqueName('shrink-next'), Uint8Array.of(7, 7, 7, 7));
    const reader = fixedLengthRecordReader([file, next], { recordBytes: 4, chunkBytes: 8, onError: 'skip' });
    const keys: string[] = [];
    for await (const r of reader) {
      keys.push(r.key);
      if (keys.length === 1) await truncate(file, 20);
    }
    expect(keys.at(-1)).toBe(`${next}:0`);
    expect(keys.filter((k) => k.startsWith(`${file}:`)).length).toBeLessThan(100);
    const stats = readerStats(reader);
    expect(stats.skippedByReason).toEqual({ TruncatedRecordError: { count: 1, firstKeys: [file] } });
    expect(stats.read).toBe(keys.length + 1);
  });

  it('a gzip file that shrinks while read: TruncatedRecordError, not a confusing decode error', async () => {
    const gz = gzipSync(pseudoRandomBytes(1 << 20, 32));
    const file = await tmp.write(uniqueName('shrink-gz'), gz);
    const it = fixedLengthRecordReader([file], { recordBytes: 64, encoding: 'gzip', chunkBytes: 4096 })[
      Symbol.asyncIterator
    ]();
    expect((await it.next()).done).toBe(false);
    await truncate(file, 200_000);
    const err = await rejectionOf(async () => {
      while (!(await it.next()).done);
    });
    expect(err).toBeInstanceOf(TruncatedRecordError);
    expect(err).toMatchObject({ file, offset: 200_000 });
    expect(err.message).toContain(`Expected ${gz.length} bytes`);
    expect(err.message).toContain('shrank while being read');
  });

  for (const encoding of [undefined, 'gzip'] as const) {
    it(`a file deleted while read is read to its end: the open descriptor keeps it (${encoding ?? 'plain'})`, async () => {
      const data = pseudoRandomBytes(16 * 500, 33);
      const file = await tmp.write(uniqueName(`deleted-${encoding}`), encode(data, encoding));
      let n = 0;
      for await (const r of fixedLengthRecordReader([file], { recordBytes: 16, encoding, chunkBytes: 64 })) {
        expect(hex(r.value)).toBe(hex(data.subarray(n * 16, n * 16 + 16)));
        if (n++ === 0) await unlink(file);
      }
      expect(n).toBe(500);
    });
  }

  it('a gzip file that grows while read is read as it was when opened', async () => {
    const file = await tmp.write(uniqueName('grow-gz'), gzipSync(new Uint8Array(4 * 5000).fill(1)));
    const it = fixedLengthRecordReader([file], { recordBytes: 4, encoding: 'gzip', chunkBytes: 64 })[
      Symbol.asyncIterator
    ]();
    expect((await it.next()).done).toBe(false);
    // A second gzip member: read, it would add 100 records.
    await appendFile(file, gzipSync(new Uint8Array(400).fill(2)));
    let count = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      expect(r.value.value[0]).toBe(1);
      count++;
    }
    expect(count).toBe(5000);
  });
});

describe('fixedLengthRecordReader: a gzip bomb', () => {
  let bomb: string;
  const GIB = 1 << 30;
  beforeAll(async () => {
    // 1024 gzip members of 1 MiB of zeros each: about 1 MB on disk, 1 GiB inflated.
    const member = gzipSync(new Uint8Array(1 << 20));
    const parts = new Uint8Array(member.length * 1024);
    for (let i = 0; i < 1024; i++) parts.set(member, i * member.length);
    bomb = await tmp.write(uniqueName('bomb'), parts);
  });

  it('take(10) returns at once and allocates no more than a few chunks', async () => {
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const got = (await lastValueFrom(
      fixedLengthRecordReader([bomb], { recordBytes: 3073, encoding: 'gzip' }).pipe(take(10), toArray()),
    )) as KeyValue[];
    const ms = performance.now() - t0;
    expect(got).toHaveLength(10);
    expect(got.every((r) => r.value.every((b) => b === 0))).toBe(true);
    expect(ms).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    await tick();
    expect(openDescriptorsFor(bomb)).toBe(0);
  });

  it('streaming 64 MiB of it keeps memory flat (records are consumed, not accumulated)', async () => {
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    let bytes = 0;
    for await (const r of fixedLengthRecordReader([bomb], { recordBytes: 1 << 16, encoding: 'gzip' })) {
      bytes += r.value.length;
      if ((bytes & ((1 << 24) - 1)) === 0) peak = Math.max(peak, process.memoryUsage().rss);
      if (bytes >= GIB / 16) break;
    }
    expect(bytes).toBe(GIB / 16);
    expect(peak - rssBefore).toBeLessThan(96 * 1024 * 1024);
  });
});

describe('fixedLengthRecordReader: fuzzed inputs (random, truncated, bit-flipped, empty)', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('random' as const), length: fc.nat(600), seed: fc.integer() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({
      kind: fc.constant('flip' as const),
      flips: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.nat(7) }), {
        minLength: 1,
        maxLength: 6,
      }),
    }),
    fc.constant({ kind: 'empty' as const }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

  function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
    if (m.kind === 'empty') return new Uint8Array(0);
    if (m.kind === 'random') return pseudoRandomBytes(m.length, m.seed);
    if (m.kind === 'truncate') return bytes.slice(0, Math.floor(m.at * bytes.length));
    const out = bytes.slice();
    if (out.length === 0) return out;
    for (const f of m.flips) out[Math.min(out.length - 1, Math.floor(f.at * out.length))] ^= 1 << f.bit;
    return out;
  }

  /** Rejects when `p` takes longer than `ms`: a hang fails the property instead of the test run. */
  function within<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  for (const encoding of [undefined, 'gzip', 'zlib'] as const) {
    it(`never crashes untyped or hangs; under skip read = yielded + skipped (${encoding ?? 'plain'})`, async () => {
      let badCases = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 12 }),
          fc.nat(30),
          fc.integer(),
          mutation,
          fc.constantFrom('raise' as const, 'skip' as const),
          async (recordBytes, records, seed, m, onError) => {
            const clean = encode(pseudoRandomBytes(recordBytes * records, seed), encoding);
            const file = await tmp.write(uniqueName(`fuzz-${encoding}`), mutate(clean, m));
            const good = await tmp.write(
              uniqueName(`fuzz-good-${encoding}`),
              encode(new Uint8Array(recordBytes * 2).fill(4), encoding),
            );
            const options = { recordBytes, encoding, chunkBytes: 7, onError };
            const out = await within(runWith([file, good], options), 5000);
            if (onError === 'raise') {
              if (out.error !== null) {
                badCases++;
                expect(out.error).toBeInstanceOf(InputError);
                expect((out.error as InputError).file).toBe(file);
              }
              return;
            }
            expect(out.error).toBeNull();
            if (out.stats.skipped > 0) badCases++;
            // The good file after the bad one is always read whole.
            expect(out.records.filter((r) => r.key.startsWith(`${good}:`))).toHaveLength(2);
            expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
            expect(out.stats.skipped).toBeLessThanOrEqual(1);
            for (const summary of Object.values(out.stats.skippedByReason)) {
              for (const key of summary.firstKeys)
                expect(key === file || key.startsWith(`${file}:`)).toBe(true);
            }
          },
        ),
        { numRuns: 80 },
      );
      // The inputs must be bad often enough for the property to say something.
      expect(badCases).toBeGreaterThan(4);
    });
  }
});
