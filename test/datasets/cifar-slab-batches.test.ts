import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferRecycler } from '../../src/core/buffer-recycler.js';
import { DecodeError, InputError, InvalidArgumentError } from '../../src/core/errors.js';
import { slabDistortedBatches } from '../../src/datasets/cifar-slab-batches.js';
import { type DistortedCifarBatch, distortCifarBatch } from '../../src/image/distort-cifar-batch.js';
import {
  type RecordBatchesPosition,
  resumableBatches,
  type ShuffledRecordBatchesOptions,
  shuffledRecordBatches,
} from '../../src/resume/shuffled-record-batches.js';
import { drain, makeTempDir, pseudoRandomBytes, type TempDir } from '../helpers/files.js';
import { FIXTURE_DIR } from '../helpers/fixture.js';

let tmp: TempDir;
let n = 0;
beforeAll(async () => {
  tmp = await makeTempDir('cifar-slab');
});
afterAll(() => tmp.cleanup());

/** Files of `counts[i]` random records with label bytes in range (< 10). */
async function writeFiles(counts: number[], labelBytes: 1 | 2, seed: number): Promise<string[]> {
  const recordBytes = labelBytes + 3072;
  const files: string[] = [];
  for (const [i, count] of counts.entries()) {
    const data = pseudoRandomBytes(count * recordBytes, seed + i);
    for (let r = 0; r < count; r++) for (let l = 0; l < labelBytes; l++) data[r * recordBytes + l] %= 10;
    files.push(await tmp.write(`f${n++}.bin`, data));
  }
  return files;
}

type Kernel = 'auto' | 'js';

function slab(
  options: ShuffledRecordBatchesOptions,
  labelBytes: 1 | 2,
  kernel: Kernel,
  recycler?: BufferRecycler,
  engine: { numThreads?: number; cache?: boolean } = {},
) {
  const r = recycler ?? new BufferRecycler('test');
  const e = { numThreads: engine.numThreads ?? 1, cache: engine.cache ?? false, stage: 'test' };
  return resumableBatches(options, (plan) =>
    slabDistortedBatches(plan, { seed: options.seed, labelBytes, kernel }, r, e),
  );
}

/** The reference: the general path, raw records shuffled by shuffleBatch, then distortCifarBatch. */
async function reference(options: ShuffledRecordBatchesOptions, labelBytes: 1 | 2) {
  const distort = distortCifarBatch({ seed: options.seed, labelBytes });
  const out: DistortedCifarBatch[] = [];
  for await (const b of shuffledRecordBatches(options)) out.push(distort(b as never));
  return out;
}

const bytesOf = (x: DistortedCifarBatch) =>
  Buffer.from(x.image.data.buffer, x.image.data.byteOffset, x.image.data.byteLength);

function expectSame(a: DistortedCifarBatch[], b: DistortedCifarBatch[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(Array.from(a[i].index.data)).toEqual(Array.from(b[i].index.data));
    expect(Array.from(a[i].label.data)).toEqual(Array.from(b[i].label.data));
    expect(a[i].coarseLabel && Array.from(a[i].coarseLabel!.data)).toEqual(
      b[i].coarseLabel && Array.from(b[i].coarseLabel!.data),
    );
    expect(a[i].image.shape).toEqual(b[i].image.shape);
    // Buffer.equals: vitest's deep equality is far too slow for ~100k floats a case.
    expect(bytesOf(a[i]).equals(bytesOf(b[i])), `image of batch ${i}`).toBe(true);
    expect(a[i].key).toEqual(b[i].key);
  }
}

describe('slabDistortedBatches', () => {
  it('gives exactly the batches of shuffledRecordBatches + distortCifarBatch (property; both kernels, cached or not)', async () => {
    let drained = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          counts: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 3 }),
          labelBytes: fc.constantFrom(1 as const, 2 as const),
          batchSize: fc.integer({ min: 1, max: 9 }),
          minAfterDequeue: fc.integer({ min: 0, max: 40 }),
          numEpochs: fc.integer({ min: 1, max: 3 }),
          shuffleFiles: fc.boolean(),
          seed: fc.nat(1000),
          kernel: fc.constantFrom('auto' as const, 'js' as const),
          cache: fc.boolean(),
        }),
        async (c) => {
          fc.pre(c.counts.some((x) => x > 0));
          const files = await writeFiles(c.counts, c.labelBytes, c.seed);
          const options: ShuffledRecordBatchesOptions = {
            files,
            counts: c.counts,
            recordBytes: c.labelBytes + 3072,
            batchSize: c.batchSize,
            minAfterDequeue: c.minAfterDequeue,
            capacity: c.minAfterDequeue + 3 * c.batchSize,
            seed: c.seed,
            numEpochs: c.numEpochs,
            shuffleFiles: c.shuffleFiles,
          };
          const expected = await reference(options, c.labelBytes);
          const got = await slab(options, c.labelBytes, c.kernel, undefined, { cache: c.cache }).toArray();
          expectSame(got, expected);
          const total = c.numEpochs * c.counts.reduce((a, b) => a + b, 0);
          // Every record but the last partial batch's, each exactly once per epoch it was read in.
          expect(got.length).toBe(Math.floor(total / c.batchSize));
          if (total > c.minAfterDequeue) drained++;
        },
      ),
      { numRuns: 120 },
    );
    expect(drained).toBeGreaterThan(5);
  });

  it('resumed at any batch continues exactly (pool re-read into the slab, across epochs)', async () => {
    const files = await writeFiles([25, 18, 31], 1, 5);
    const options: ShuffledRecordBatchesOptions = {
      files,
      counts: [25, 18, 31],
      recordBytes: 3073,
      batchSize: 8,
      minAfterDequeue: 30,
      capacity: 54,
      seed: 3,
      numEpochs: 3,
    };
    const straight = slab(options, 1, 'auto');
    const batches: DistortedCifarBatch[] = [];
    const positions: RecordBatchesPosition[] = [];
    for await (const b of straight) {
      batches.push(b);
      positions.push(JSON.parse(JSON.stringify(straight.position())));
    }
    expect(batches.length).toBe(Math.floor((3 * 74) / 8));
    for (const k of [1, 5, 9, 17, batches.length - 1]) {
      for (const cache of [false, true]) {
        const resumed = await slab({ ...options, resume: positions[k - 1] }, 1, 'auto', undefined, {
          cache,
        }).toArray();
        expectSame(resumed, batches.slice(k));
      }
    }
  });

  it('reads no further ahead than the pool, one batch and two read blocks', async () => {
    const files = await writeFiles([600, 600], 1, 8);
    let read = 0;
    const options: ShuffledRecordBatchesOptions = {
      files,
      counts: [600, 600],
      recordBytes: 3073,
      batchSize: 16,
      minAfterDequeue: 100,
      capacity: 148,
      seed: 1,
      check: () => {
        read++;
      },
    };
    const it = slab(options, 1, 'auto')[Symbol.asyncIterator]();
    const blockRecords = Math.floor(2 ** 20 / 3073); // 341 records per 1 MiB read
    for (let k = 1; k <= 30; k++) {
      await it.next();
      expect(read).toBeLessThanOrEqual(100 + k * 16 + 2 * blockRecords);
    }
    await it.return?.();
  });

  it('a label out of range fails the stream with a DecodeError naming file, record and offset', async () => {
    const [file] = await writeFiles([12], 1, 2);
    const bytes = new Uint8Array(await import('node:fs/promises').then((f) => f.readFile(file)));
    bytes[7 * 3073] = 200;
    const bad = await tmp.write(`bad${n++}.bin`, bytes);
    const { error } = await drain(
      slab(
        {
          files: [bad],
          counts: [12],
          recordBytes: 3073,
          batchSize: 2,
          minAfterDequeue: 3,
          capacity: 9,
          seed: 1,
          check: (b, offset, f, record) => {
            if (b[offset] >= 10)
              throw new DecodeError(`label ${b[offset]} of ${f}:${record}`, {
                file: f,
                key: `${f}:${record}`,
                offset: record * 3073,
              });
          },
        },
        1,
        'auto',
      ),
    );
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).key).toBe(`${bad}:7`);
    expect((error as DecodeError).offset).toBe(7 * 3073);
  });
});

describe('slabDistortedBatches on worker threads', () => {
  const options = async (): Promise<ShuffledRecordBatchesOptions> => ({
    files: await writeFiles([70, 45, 90], 2, 11),
    counts: [70, 45, 90],
    recordBytes: 3074,
    batchSize: 7,
    minAfterDequeue: 50,
    capacity: 71,
    seed: 9,
    numEpochs: 2,
  });

  it('gives the same batches with 2 and 3 threads, cached or not, as with one', async () => {
    const o = await options();
    const expected = await reference(o, 2);
    for (const numThreads of [2, 3])
      for (const cache of [false, true]) {
        const recycler = new BufferRecycler('test');
        const got: DistortedCifarBatch[] = [];
        for await (const b of slab(o, 2, 'auto', recycler, { numThreads, cache })) {
          got.push({ ...b, image: { ...b.image, data: b.image.data.slice() } });
          recycler.release(b.image.data, b); // released arrays go back to the workers
        }
        expectSame(got, expected);
      }
  });

  it('stops its workers when the consumer stops early', async () => {
    const o = await options();
    const threadsBefore = await import('node:fs').then((fs) =>
      fs.existsSync('/proc/self/task') ? fs.readdirSync('/proc/self/task').length : 0,
    );
    const s = slab({ ...o, numEpochs: undefined }, 2, 'auto', undefined, { numThreads: 3, cache: true });
    let n = 0;
    for await (const _ of s) if (++n === 5) break;
    expect(n).toBe(5);
    const fs = await import('node:fs');
    if (!fs.existsSync('/proc/self/task')) return;
    // Terminated workers' OS threads are gone once the event loop has turned.
    for (let i = 0; i < 50 && fs.readdirSync('/proc/self/task').length > threadsBefore; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(fs.readdirSync('/proc/self/task').length).toBeLessThanOrEqual(threadsBefore);
  });
});

describe('slabDistortedBatches: a pipeline dropped without return()', () => {
  for (const cache of ['', 'cache']) {
    it(`lets the process exit though its worker is alive${cache ? ' (cache)' : ''}`, () => {
      const child = fileURLToPath(new URL('./abandon-child.ts', import.meta.url));
      const r = spawnSync(process.execPath, ['--import', 'tsx', child, FIXTURE_DIR, cache], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.error).toBeUndefined(); // no timeout
      expect(r.stdout.trim()).toBe('dropped');
      expect(r.status).toBe(0);
    });
  }
});

describe('BufferRecycler through slabDistortedBatches', () => {
  async function stream() {
    const files = await writeFiles([40], 1, 4);
    const recycler = new BufferRecycler('test', 2);
    const s = slab(
      {
        files,
        counts: [40],
        recordBytes: 3073,
        batchSize: 4,
        minAfterDequeue: 5,
        capacity: 17,
        seed: 2,
        numEpochs: 2,
      },
      1,
      'auto',
      recycler,
    );
    return { s, recycler };
  }

  it('reuses a released image array for a later batch, with that batch own pixels', async () => {
    const { s, recycler } = await stream();
    const { s: plain } = await stream();
    const expected = await plain.toArray();
    const seen: Float32Array[] = [];
    let reused = 0;
    let i = 0;
    for await (const b of s) {
      if (seen.includes(b.image.data)) reused++;
      expect(bytesOf(b).equals(bytesOf(expected[i++]))).toBe(true);
      seen.push(b.image.data);
      recycler.release(b.image.data, b);
    }
    expect(i).toBe(20);
    expect(reused).toBe(19); // all but the first batch write into a released array
  });

  it('never reuses an array that was not released', async () => {
    const { s } = await stream();
    const arrays = (await s.toArray()).map((b) => b.image.data);
    expect(new Set(arrays).size).toBe(arrays.length);
  });

  it('refuses a foreign array and a second release of the same array', async () => {
    const { s, recycler } = await stream();
    const [b] = await s.toArray();
    expect(() => recycler.release(new Float32Array(4 * 24 * 24 * 3))).toThrow(InvalidArgumentError);
    recycler.release(b.image.data, b);
    expect(() => recycler.release(b.image.data, b)).toThrow(/not released already/);
  });

  it('refuses a late second release once the array went out again with a later batch', async () => {
    const { s, recycler } = await stream();
    const it = s[Symbol.asyncIterator]();
    const first = (await it.next()).value!;
    recycler.release(first.image.data, first);
    const second = (await it.next()).value!;
    expect(second.image.data).toBe(first.image.data); // reused
    expect(() => recycler.release(first.image.data, first)).toThrow(/not released already/);
    recycler.release(second.image.data, second); // its holder can
    await it.return?.();
  });

  it('refuses an array that moved to another thread (detached)', () => {
    const recycler = new BufferRecycler('test');
    const a = recycler.take(8);
    recycler.release(a);
    const lent = recycler.spare(8)!;
    structuredClone(lent.buffer, { transfer: [lent.buffer as ArrayBuffer] });
    expect(() => recycler.release(a)).toThrow(/not released already/);
  });
});

describe('slabDistortedBatches with cache: files that changed', () => {
  it('a file with more or fewer records than counted fails the load naming it', async () => {
    for (const [actual, message] of [
      [12, /Expected 10 records in .* but it has more/],
      [8, /Expected 10 records in .* but it has 8/],
    ] as const) {
      const [file] = await writeFiles([actual], 1, 7);
      const options: ShuffledRecordBatchesOptions = {
        files: [file],
        counts: [10],
        recordBytes: 3073,
        batchSize: 2,
        minAfterDequeue: 3,
        capacity: 9,
        seed: 1,
      };
      const { error } = await drain(slab(options, 1, 'auto', undefined, { cache: true }));
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).file).toBe(file);
      expect((error as Error).message).toMatch(message);
    }
  });
});
