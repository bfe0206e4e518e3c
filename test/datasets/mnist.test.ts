import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, TooManyErrorsError } from '../../src/core/errors.js';
import { MAX_IDX_RECORD_BYTES, MAX_INFLATE_RATIO } from '../../src/datasets/idx.js';
import { type MnistExample, type MnistOptions, mnist } from '../../src/datasets/mnist.js';
import {
  DecodeError,
  InvalidArgumentError,
  NotFoundError,
  shuffleBatch,
  TruncatedRecordError,
} from '../../src/index.js';
import {
  canListOpenFds,
  concat,
  makeTempDir,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
  thrownBy,
} from '../helpers/files.js';
import { leaked, resourceCounts, settle } from '../helpers/resources.js';

const N = 50;

/** Pixel (r, c) of image i: a value that names the image, so pairing mistakes show. */
function pixel(i: number, r: number, c: number): number {
  return (i * 7 + r * 3 + c) & 0xff;
}

function labelOf(i: number): number {
  return (i * 3) % 10;
}

function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, false);
  return b;
}

function imagesIdx(
  n: number,
  rows = 28,
  cols = 28,
  { magic = 0x803, count = n }: { magic?: number; count?: number } = {},
): Uint8Array {
  const body = new Uint8Array(n * rows * cols);
  for (let i = 0, o = 0; i < n; i++)
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) body[o++] = pixel(i, r, c);
  return concat(u32be(magic), u32be(count), u32be(rows), u32be(cols), body);
}

function labelsIdx(
  n: number,
  {
    magic = 0x801,
    count = n,
    label = labelOf,
  }: { magic?: number; count?: number; label?: (i: number) => number } = {},
): Uint8Array {
  const body = Uint8Array.from({ length: n }, (_, i) => label(i));
  return concat(u32be(magic), u32be(count), body);
}

let tmp: TempDir;
let counter = 0;

/** A fresh folder under the temp dir holding the given files (name -> bytes). */
async function folder(files: Record<string, Uint8Array>): Promise<string> {
  const dir = join(tmp.dir, `case-${counter++}`);
  await mkdir(dir);
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
  return dir;
}

function gz(files: Record<string, Uint8Array>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`${k}.gz`, gzipSync(v)]));
}

const train = (images = imagesIdx(N), labels = labelsIdx(N)) => ({
  'train-images-idx3-ubyte': images,
  'train-labels-idx1-ubyte': labels,
});

function checkExamples(examples: MnistExample[], dir: string, prefix: string, n = N, rows = 28, cols = 28) {
  expect(examples).toHaveLength(n);
  examples.forEach((ex, i) => {
    expect(ex.key).toBe(`${join(dir, prefix)}:${i}`);
    expect(ex.label).toBe(labelOf(i));
    expect(ex.image.dtype).toBe('uint8');
    expect(ex.image.shape).toEqual([rows, cols, 1]);
    expect(ex.image.data).toBeInstanceOf(Uint8Array);
    expect(ex.image.data.length).toBe(rows * cols);
    for (const [r, c] of [
      [0, 0],
      [rows - 1, cols - 1],
      [Math.floor(rows / 2), 3 % cols],
    ])
      expect(ex.image.data[r * cols + c]).toBe(pixel(i, r, c));
  });
}

beforeAll(async () => {
  tmp = await makeTempDir('mnist');
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('mnist: reading', () => {
  it('reads plain IDX files: keys, labels, pixels and shapes, images paired with their labels', async () => {
    const dir = await folder(train());
    const all = await mnist({ path: dir }).toArray();
    checkExamples(all, dir, 'train-images-idx3-ubyte');
    // Every pixel of one image, exactly.
    const want = imagesIdx(N).subarray(16 + 17 * 784, 16 + 18 * 784);
    expect(Array.from(all[17].image.data)).toEqual(Array.from(want));
  });

  it('reads gzipped IDX files the same way', async () => {
    const dir = await folder(gz(train()));
    checkExamples(await mnist({ path: dir }).toArray(), dir, 'train-images-idx3-ubyte.gz');
  });

  it("split 'test' reads the t10k files; a mix of plain and .gz works", async () => {
    const dir = await folder({
      't10k-images-idx3-ubyte': imagesIdx(N),
      't10k-labels-idx1-ubyte.gz': gzipSync(labelsIdx(N)),
    });
    checkExamples(await mnist({ path: dir, split: 'test' }).toArray(), dir, 't10k-images-idx3-ubyte');
  });

  it('prefers the plain file when both it and the .gz exist', async () => {
    const dir = await folder({ ...train(), ...gz(train(imagesIdx(3), labelsIdx(3))) });
    checkExamples(await mnist({ path: dir }).toArray(), dir, 'train-images-idx3-ubyte');
  });

  it('uses the header rows and cols for the shape', async () => {
    const dir = await folder(train(imagesIdx(N, 5, 7), labelsIdx(N)));
    checkExamples(await mnist({ path: dir }).toArray(), dir, 'train-images-idx3-ubyte', N, 5, 7);
  });

  it('numEpochs repeats the pass in file order', async () => {
    const dir = await folder(gz(train()));
    const all = await mnist({ path: dir, numEpochs: 3 }).toArray();
    expect(all).toHaveLength(3 * N);
    for (let e = 0; e < 3; e++)
      checkExamples(all.slice(e * N, (e + 1) * N), dir, 'train-images-idx3-ubyte.gz');
  });

  it('works as an Observable too, and reads an empty dataset as empty', async () => {
    const dir = await folder(train(imagesIdx(0), labelsIdx(0)));
    expect(await mnist({ path: dir }).toArray()).toEqual([]);
    const dir2 = await folder(train());
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) =>
      mnist({ path: dir2 }).subscribe({ next: (x) => seen.push(x.label), error: reject, complete: resolve }),
    );
    expect(seen).toEqual(Array.from({ length: N }, (_, i) => labelOf(i)));
  });
  it('feeds shuffleBatch: uint8 [B, 28, 28, 1] images with int32 labels, pairs intact', async () => {
    const dir = await folder(gz(train()));
    const batches = await shuffleBatch(mnist({ path: dir }), {
      batchSize: 10,
      capacity: 30,
      minAfterDequeue: 10,
      seed: 3,
    }).toArray();
    expect(batches).toHaveLength(5);
    const seen = new Set<number>();
    for (const b of batches) {
      expect(b.image.shape).toEqual([10, 28, 28, 1]);
      expect(b.label.dtype).toBe('int32');
      b.key.forEach((key, j) => {
        const i = Number(key.slice(key.lastIndexOf(':') + 1));
        seen.add(i);
        expect(b.label.data[j]).toBe(labelOf(i));
        expect(b.image.data[j * 784 + 5 * 28 + 6]).toBe(pixel(i, 5, 6));
      });
    }
    expect(seen.size).toBe(N);
  });
});

describe('mnist: errors', () => {
  it('validates options when called', () => {
    expect(thrownBy(() => mnist({ path: '' }))).toBeInstanceOf(InvalidArgumentError);
    expect(thrownBy(() => mnist({ path: 'x', split: 'val' as 'test' })).message).toMatch(/split/);
    expect(thrownBy(() => mnist({ path: 'x', numEpochs: 0 })).message).toMatch(/numEpochs/);
    expect(thrownBy(() => mnist({ path: 'x', shuffle: true })).message).toMatch(/shuffleBatch/);
    expect(thrownBy(() => mnist({ path: 'x', seed: 1 })).message).toMatch(/shuffleBatch/);
    expect(() => mnist({ path: 'x', shuffle: false })).not.toThrow();
  });

  it('missing files: a NotFoundError listing the names tried', async () => {
    const empty = await folder({});
    const err = await rejectionOf(() => mnist({ path: empty }).toArray());
    expect(err).toBeInstanceOf(NotFoundError);
    for (const name of [
      'train-images-idx3-ubyte',
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte',
      'train-labels-idx1-ubyte.gz',
    ])
      expect(err.message).toContain(name);
    const onlyImages = await folder({ 't10k-images-idx3-ubyte': imagesIdx(2) });
    const err2 = await rejectionOf(() => mnist({ path: onlyImages, split: 'test' }).toArray());
    expect(err2).toBeInstanceOf(NotFoundError);
    expect(err2.message).toContain('t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz');
    expect(err2.message).not.toContain('t10k-images');
  });

  for (const encoding of ['plain', 'gzip'] as const) {
    const wrap = encoding === 'gzip' ? gz : (f: Record<string, Uint8Array>) => f;
    const suffix = encoding === 'gzip' ? '.gz' : '';

    it(`wrong images magic (${encoding}): DecodeError naming the file, offset 0 and both magics`, async () => {
      const dir = await folder(wrap(train(imagesIdx(4, 28, 28, { magic: 0x801 }), labelsIdx(4))));
      const err = await rejectionOf(() => mnist({ path: dir }).toArray());
      expect(err).toBeInstanceOf(DecodeError);
      const file = join(dir, `train-images-idx3-ubyte${suffix}`);
      expect(err).toMatchObject({ file, offset: 0 });
      expect(err.message).toContain(JSON.stringify(file));
      expect(err.message).toMatch(/0x00000803.*0x00000801/);
      expect(err.message).toContain('offset 0');
    });

    it(`wrong labels magic (${encoding}): DecodeError naming the labels file`, async () => {
      const dir = await folder(wrap(train(imagesIdx(4), labelsIdx(4, { magic: 0xdeadbeef }))));
      const err = await rejectionOf(() => mnist({ path: dir }).toArray());
      expect(err).toBeInstanceOf(DecodeError);
      expect(err).toMatchObject({ file: join(dir, `train-labels-idx1-ubyte${suffix}`), offset: 0 });
      expect(err.message).toMatch(/0x00000801.*0xdeadbeef/);
    });

    it(`image and label counts that differ (${encoding}): DecodeError naming both files and counts`, async () => {
      const dir = await folder(wrap(train(imagesIdx(5), labelsIdx(4))));
      const err = await rejectionOf(() => mnist({ path: dir }).toArray());
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toContain(
        `${JSON.stringify(join(dir, `train-images-idx3-ubyte${suffix}`))} holds 5 images`,
      );
      expect(err.message).toContain(
        `${JSON.stringify(join(dir, `train-labels-idx1-ubyte${suffix}`))} holds 4 labels`,
      );
    });

    it(`a label >= 10 (${encoding}): DecodeError naming the key`, async () => {
      const dir = await folder(wrap(train(imagesIdx(6), labelsIdx(6, { label: (i) => (i === 4 ? 10 : 1) }))));
      const seen: number[] = [];
      const err = await rejectionOf(async () => {
        for await (const ex of mnist({ path: dir })) seen.push(ex.label);
      });
      expect(seen).toEqual([1, 1, 1, 1]);
      expect(err).toBeInstanceOf(DecodeError);
      const key = `${join(dir, `train-images-idx3-ubyte${suffix}`)}:4`;
      expect(err).toMatchObject({ key, file: join(dir, `train-labels-idx1-ubyte${suffix}`), offset: 12 });
      expect(err.message).toContain(key);
      expect(err.message).toContain('has 10');
    });

    it(`an images file cut mid-record (${encoding}): TruncatedRecordError naming the file`, async () => {
      const cut = imagesIdx(6).subarray(0, 16 + 4 * 784 + 100);
      const dir = await folder(wrap(train(cut, labelsIdx(6))));
      const file = join(dir, `train-images-idx3-ubyte${suffix}`);
      const seen: string[] = [];
      const err = await rejectionOf(async () => {
        for await (const ex of mnist({ path: dir })) seen.push(ex.key);
      });
      expect(err).toBeInstanceOf(TruncatedRecordError);
      expect(err).toMatchObject({ file });
      expect(err.message).toContain(JSON.stringify(file));
      // Plain: the size is checked before any record; gzip: the reader raises after the last whole record.
      expect(seen).toHaveLength(encoding === 'gzip' ? 4 : 0);
    });

    it(`an images file cut on a record boundary (${encoding}): TruncatedRecordError naming the file`, async () => {
      const cut = imagesIdx(6).subarray(0, 16 + 4 * 784);
      const dir = await folder(wrap(train(cut, labelsIdx(6))));
      const file = join(dir, `train-images-idx3-ubyte${suffix}`);
      const err = await rejectionOf(() => mnist({ path: dir }).toArray());
      expect(err).toBeInstanceOf(TruncatedRecordError);
      expect(err).toMatchObject({ file, key: `${file}:4` });
      expect(err.message).toMatch(/Expected (6 records|4720 bytes)/);
    });

    it(`a labels file cut short (${encoding}): TruncatedRecordError naming it`, async () => {
      const dir = await folder(wrap(train(imagesIdx(6), labelsIdx(6).subarray(0, 8 + 3))));
      const err = await rejectionOf(() => mnist({ path: dir }).toArray());
      expect(err).toBeInstanceOf(TruncatedRecordError);
      expect(err).toMatchObject({ file: join(dir, `train-labels-idx1-ubyte${suffix}`) });
    });

    it(`a file longer than its header says (${encoding}): DecodeError`, async () => {
      const dir = await folder(wrap(train(imagesIdx(6, 28, 28, { count: 5 }), labelsIdx(5))));
      const err = await rejectionOf(() => mnist({ path: dir }).toArray());
      expect(err).toBeInstanceOf(DecodeError);
      expect(err).toMatchObject({ file: join(dir, `train-images-idx3-ubyte${suffix}`) });
    });

    it(`a file shorter than its header (${encoding}): TruncatedRecordError`, async () => {
      const dir = await folder(wrap(train(imagesIdx(2).subarray(0, 10), labelsIdx(2))));
      const err = await rejectionOf(() => mnist({ path: dir }).toArray());
      expect(err).toBeInstanceOf(TruncatedRecordError);
      expect(err.message).toContain('16-byte IDX header');
    });
  }

  it('a .gz file that is not gzip: DecodeError naming it', async () => {
    const dir = await folder({
      'train-images-idx3-ubyte.gz': imagesIdx(2),
      'train-labels-idx1-ubyte': labelsIdx(2),
    });
    const err = await rejectionOf(() => mnist({ path: dir }).toArray());
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ file: join(dir, 'train-images-idx3-ubyte.gz') });
  });
});

describe('mnist: cancellation', () => {
  for (const encoding of ['plain', 'gzip'] as const) {
    it.runIf(canListOpenFds)(`break closes both files (${encoding})`, async () => {
      // Big enough to need several chunks, so break lands mid-file with both readers open.
      const n = 3000;
      const files = train(imagesIdx(n), labelsIdx(n));
      const dir = await folder(encoding === 'gzip' ? gz(files) : files);
      await settle();
      const before = resourceCounts();
      let seen = 0;
      for await (const ex of mnist({ path: dir, numEpochs: 2 })) {
        expect(ex.label).toBe(labelOf(seen));
        if (++seen === 10) break;
      }
      await settle();
      expect(leaked(before, resourceCounts())).toEqual({});
      // And after an error.
      const bad = await folder(train(imagesIdx(n), labelsIdx(n, { label: (i) => (i === 5 ? 99 : 0) })));
      await rejectionOf(() => mnist({ path: bad }).toArray());
      await settle();
      expect(leaked(before, resourceCounts())).toEqual({});
    });
  }

  it.runIf(canListOpenFds)('unsubscribing closes both files', async () => {
    const n = 3000;
    const dir = await folder(train(imagesIdx(n), labelsIdx(n)));
    await settle();
    const before = resourceCounts();
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      const sub = mnist({ path: dir }).subscribe({
        next: () => {
          if (++seen === 5) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    for (let i = 0; i < 20 && Object.keys(leaked(before, resourceCounts())).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(leaked(before, resourceCounts())).toEqual({});
  });
});

/** Runs mnist to its end or first error: examples, error and the mnist stage's stats. */
async function runMnist(options: MnistOptions) {
  const stream = mnist(options);
  const examples: MnistExample[] = [];
  let error: unknown = null;
  try {
    for await (const ex of stream) examples.push(ex);
  } catch (err) {
    error = err;
  }
  const stats = stream.stats().find((s) => s.name === 'mnist')!;
  return { examples, error, stats, report: stream.report() };
}

describe('mnist: headers that lie are refused before anything is allocated', () => {
  it('dimensions declaring huge images: DecodeError naming the file and the declared size', async () => {
    const header = concat(u32be(0x803), u32be(1), u32be(65535), u32be(65535));
    const dir = await folder(train(header, labelsIdx(1)));
    const file = join(dir, 'train-images-idx3-ubyte');
    const rss = process.memoryUsage().rss;
    const err = await rejectionOf(() => mnist({ path: dir }).toArray());
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ file, offset: 4, stage: 'mnist' });
    expect(err.message).toContain(`at most ${MAX_IDX_RECORD_BYTES} bytes`);
    expect(err.message).toContain(`declares ${65535 * 65535} bytes per record`);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
  });

  it('a count far beyond a plain file: TruncatedRecordError with declared and actual sizes', async () => {
    const images = imagesIdx(2, 28, 28, { count: 2_000_000_000 });
    const dir = await folder(train(images, labelsIdx(2, { count: 2_000_000_000 })));
    const err = await rejectionOf(() => mnist({ path: dir }).toArray());
    expect(err).toBeInstanceOf(TruncatedRecordError);
    expect(err.message).toContain(`Expected ${16 + 2_000_000_000 * 784} bytes`);
    expect(err.message).toContain(`the file has ${images.length}`);
  });

  it('a gzip file declaring more than it can inflate to: DecodeError, before reading a record', async () => {
    const images = gzipSync(imagesIdx(2, 28, 28, { count: 1_000_000 }));
    const labels = gzipSync(labelsIdx(2, { count: 1_000_000 }));
    const dir = await folder({ 'train-images-idx3-ubyte.gz': images, 'train-labels-idx1-ubyte.gz': labels });
    const file = join(dir, 'train-images-idx3-ubyte.gz');
    const t0 = performance.now();
    const out = await runMnist({ path: dir, onError: 'skip' });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(out.examples).toEqual([]);
    const err = out.error as DecodeError;
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ file, stage: 'mnist' });
    expect(err.message).toContain(`at most ${images.length * MAX_INFLATE_RATIO} bytes`);
    expect(err.message).toContain(`declares ${16 + 1_000_000 * 784}`);
  });
});

describe('mnist: error policy', () => {
  const badLabels = () => labelsIdx(8, { label: (i) => (i === 2 || i === 5 ? 10 + i : labelOf(i)) });

  it('skip: examples with an out-of-range label are dropped and counted; read = yielded + skipped', async () => {
    const dir = await folder(train(imagesIdx(8), badLabels()));
    const out = await runMnist({ path: dir, onError: 'skip', numEpochs: 2 });
    expect(out.error).toBeNull();
    const imagesFile = join(dir, 'train-images-idx3-ubyte');
    expect(out.examples.map((e) => e.key)).toEqual(
      [0, 1, 3, 4, 6, 7, 0, 1, 3, 4, 6, 7].map((i) => `${imagesFile}:${i}`),
    );
    for (const e of out.examples) {
      const i = Number(e.key.slice(e.key.lastIndexOf(':') + 1));
      expect(e.label).toBe(labelOf(i));
      expect(e.image.data[0]).toBe(pixel(i, 0, 0));
    }
    expect(out.stats).toMatchObject({ read: 16, elementsOut: 12, skipped: 4 });
    expect(out.stats.skippedByReason).toEqual({
      DecodeError: { count: 4, firstKeys: [2, 5, 2, 5].map((i) => `${imagesFile}:${i}`) },
    });
    expect(out.report.stages.find((s) => s.stage === 'mnist')).toMatchObject({
      read: 16,
      yielded: 12,
      skipped: 4,
    });
  });

  it('warn: a line per skipped example; maxErrors raises TooManyErrorsError past the bound', async () => {
    const dir = await folder(gz(train(imagesIdx(8), badLabels())));
    const lines: string[] = [];
    const warned = await runMnist({ path: dir, onError: 'warn', warn: (l) => lines.push(l) });
    expect(warned.examples).toHaveLength(6);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('train-images-idx3-ubyte.gz:2');
    expect(lines[0]).toContain('has 12');
    const bounded = await runMnist({ path: dir, onError: 'skip', maxErrors: 1 });
    expect(bounded.examples).toHaveLength(4);
    expect(bounded.error).toBeInstanceOf(TooManyErrorsError);
    expect((bounded.error as TooManyErrorsError).key).toBe(`${join(dir, 'train-images-idx3-ubyte.gz')}:5`);
  });

  it('raise (default): the example whose error ends the stream is not counted; read = yielded + skipped', async () => {
    const dir = await folder(train(imagesIdx(8), badLabels()));
    const out = await runMnist({ path: dir });
    expect(out.error).toBeInstanceOf(DecodeError);
    expect((out.error as DecodeError).key).toBe(`${join(dir, 'train-images-idx3-ubyte')}:2`);
    expect(out.examples).toHaveLength(2);
    expect(out.stats).toMatchObject({ read: 2, elementsOut: 2, skipped: 0 });
  });

  it('a bad header raises under skip too: there is nothing to pair images and labels by', async () => {
    const dir = await folder(train(imagesIdx(4, 28, 28, { magic: 0x801 }), labelsIdx(4)));
    const out = await runMnist({ path: dir, onError: 'skip' });
    expect(out.error).toBeInstanceOf(DecodeError);
  });

  it('rejects a bad onError', () => {
    expect(thrownBy(() => mnist({ path: 'x', onError: 'ignore' as never })).message).toMatch(/onError/);
  });
});

describe('mnist: fuzzed IDX files (random, truncated, bit-flipped, empty)', () => {
  it('never an untyped error or a hang; read = yielded + skipped, also when the stream ends in an error', async () => {
    const images = imagesIdx(6, 4, 3);
    const labels = labelsIdx(6);
    let failures = 0;
    let clean = 0;
    const mutation = fc.oneof(
      { arbitrary: fc.constant({ kind: 'none' as const }), weight: 4 },
      fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        bit: fc.nat(7),
      }),
      fc.record({ kind: fc.constant('random' as const), length: fc.nat(200), seed: fc.integer() }),
      fc.constant({ kind: 'empty' as const }),
    );
    type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
    const mutate = (bytes: Uint8Array, m: Mutation): Uint8Array => {
      if (m.kind === 'none') return bytes;
      if (m.kind === 'empty') return new Uint8Array(0);
      if (m.kind === 'random') return pseudoRandomBytes(m.length, m.seed);
      if (m.kind === 'truncate') return bytes.slice(0, Math.floor(m.at * bytes.length));
      const out = bytes.slice();
      out[Math.min(out.length - 1, Math.floor(m.at * out.length))] ^= 1 << m.bit;
      return out;
    };
    await fc.assert(
      fc.asyncProperty(
        mutation,
        mutation,
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('raise' as const, 'skip' as const),
        async (mi, ml, gzipBefore, gzipAfter, onError) => {
          // gzipAfter mutates the compressed bytes (a corrupt .gz); gzipBefore compresses mutated bytes.
          const enc = (b: Uint8Array, m: Mutation) =>
            gzipAfter ? mutate(gzipSync(b), m) : gzipBefore ? gzipSync(mutate(b, m)) : mutate(b, m);
          const suffix = gzipAfter || gzipBefore ? '.gz' : '';
          const dir = await folder({
            [`train-images-idx3-ubyte${suffix}`]: enc(images, mi),
            [`train-labels-idx1-ubyte${suffix}`]: enc(labels, ml),
          });
          const t0 = performance.now();
          const out = await runMnist({ path: dir, onError });
          expect(performance.now() - t0).toBeLessThan(5000);
          if (out.error !== null) {
            failures++;
            expect(out.error).toBeInstanceOf(InputError);
            expect((out.error as InputError).file?.startsWith(dir)).toBe(true);
          } else clean++;
          expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
          for (const e of out.examples) expect(e.image.data.length).toBe(12);
        },
      ),
      { numRuns: 150 },
    );
    expect(failures).toBeGreaterThan(20);
    expect(clean).toBeGreaterThan(10);
  });
});
