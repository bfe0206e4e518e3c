import { chmod, mkdir, symlink } from 'node:fs/promises';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  const records: KeyValue[] = [];
  let error: unknown = null;
  try {
    for await (const r of reader) records.push(r);
  } catch (err) {
    error = err;
  }
  const stage = reader.stats().find((s) => s.name === 'fixed_length_record_reader');
  if (!stage) throw new Error('no fixed_length_record_reader entry in stats()');
  return { records, error, skipped: stage.skipped };
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
      // Teardown closes asynchronously; give it a few turns of the loop.
      for (let i = 0; i < 50 && openDescriptorsFor(file) > 0; i++) await tick();
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
