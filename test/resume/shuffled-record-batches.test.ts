import { readFile, truncate } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { InputError, InvalidArgumentError } from '../../src/core/errors.js';
import {
  type IndexedRecordBatch,
  type RecordBatchesPosition,
  type ShuffledRecordBatchesOptions,
  shuffledRecordBatches,
} from '../../src/resume/shuffled-record-batches.js';
import { drain, makeTempDir } from '../helpers/files.js';
import { RECORD_BYTES, RECORDS_PER_FILE, TRAIN_FILES } from '../helpers/fixture.js';

const base: ShuffledRecordBatchesOptions = {
  files: TRAIN_FILES,
  counts: TRAIN_FILES.map(() => RECORDS_PER_FILE),
  recordBytes: RECORD_BYTES,
  batchSize: 32,
  minAfterDequeue: 400,
  capacity: 500,
  seed: 7,
};

interface Taken {
  batches: IndexedRecordBatch[];
  positions: RecordBatchesPosition[];
}

/** Takes `n` batches, recording the position after each (JSON round-tripped, as a checkpoint would). */
async function take(options: ShuffledRecordBatchesOptions, n: number): Promise<Taken> {
  const stream = shuffledRecordBatches(options);
  const batches: IndexedRecordBatch[] = [];
  const positions: RecordBatchesPosition[] = [];
  if (n === 0) return { batches, positions };
  for await (const b of stream) {
    batches.push(b);
    positions.push(JSON.parse(JSON.stringify(stream.position())));
    if (batches.length === n) break;
  }
  return { batches, positions };
}

function expectSameBatches(a: IndexedRecordBatch[], b: IndexedRecordBatch[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(a[i].key).toEqual(b[i].key);
    expect(Array.from(a[i].index.data)).toEqual(Array.from(b[i].index.data));
    expect(
      Buffer.from(a[i].value.data.buffer, a[i].value.data.byteOffset, a[i].value.data.byteLength).equals(
        Buffer.from(b[i].value.data.buffer, b[i].value.data.byteOffset, b[i].value.data.byteLength),
      ),
    ).toBe(true);
  }
}

describe('shuffledRecordBatches', () => {
  it('resumed at any batch gives exactly the batches a run that never stopped gives', async () => {
    // 200 batches of 32 = 6,400 records: crosses the first epoch's end (5,000 records).
    const straight = await take(base, 200);
    expect(straight.batches[199].index.data.length).toBe(32);
    // 150 and 156 pool the same records of one file from two epochs: each must come back once per slot.
    for (const k of [1, 37, 150, 156, 170]) {
      const resumed = await take({ ...base, resume: straight.positions[k - 1] }, 200 - k);
      expectSameBatches(resumed.batches, straight.batches.slice(k));
      // A resumed stream's own positions continue the straight run's.
      expect(resumed.positions.at(-1)).toEqual(straight.positions.at(-1));
    }
  });

  it('names the epoch, its file order, the file and record to read next, and the pool', async () => {
    const { positions } = await take(base, 160);
    const p = positions[159]; // 160 * 32 = 5,120 picks: 5,520 records read, in epoch 1
    expect(p.batches).toBe(160);
    expect(p.nextIndex).toBe(400 + 160 * 32);
    expect(p.epoch).toBe(1);
    expect([...p.fileOrder].sort()).toEqual([...TRAIN_FILES].sort());
    expect(p.file).toBe(p.fileOrder[0]);
    expect(p.record).toBe(520);
    expect(p.pool).toHaveLength(400);
    expect(new Set(p.pool).size).toBe(400);
    expect(p.pool.every((i) => i < p.nextIndex)).toBe(true);
    expect(p.rngDrawn).toBeGreaterThanOrEqual(160 * 32);
  });

  it('resumes a finite run into its draining end, and with prefetch', async () => {
    const finite = { ...base, numEpochs: 1, batchSize: 50, minAfterDequeue: 300, capacity: 400 };
    const straight = await take(finite, 1000);
    expect(straight.batches).toHaveLength(100); // 5,000 records / 50
    const seen = new Set(straight.batches.flatMap((b) => b.key));
    expect(seen.size).toBe(5000);
    for (const k of [1, 93, 99]) {
      const resumed = await take({ ...finite, resume: straight.positions[k - 1], prefetch: 3 }, 1000);
      expectSameBatches(resumed.batches, straight.batches.slice(k));
    }
    const end = straight.positions[99];
    expect(end.file).toBeNull();
    expect(end.pool).toEqual([]);
    expect((await take({ ...finite, resume: end }, 10)).batches).toEqual([]);
  });

  it('counts only batches the consumer took, whatever prefetch ran ahead', async () => {
    const withPrefetch = await take({ ...base, prefetch: 4 }, 20);
    const without = await take(base, 20);
    expect(withPrefetch.positions).toEqual(without.positions);
    expectSameBatches(withPrefetch.batches, without.batches);
  });

  it('refuses a position from another configuration, naming what differs', async () => {
    const { positions } = await take(base, 3);
    const p = positions[2];
    const bad: [Partial<ShuffledRecordBatchesOptions>, RegExp][] = [
      [{ seed: 8 }, /resume\.config\.seed/],
      [{ batchSize: 16 }, /resume\.config\.batchSize/],
      [{ minAfterDequeue: 300 }, /resume\.config\.minAfterDequeue/],
      [{ counts: [1000, 1000, 1000, 1000, 999] }, /resume\.config\.counts/],
    ];
    for (const [change, message] of bad) {
      expect(() => shuffledRecordBatches({ ...base, ...change, resume: p })).toThrow(message);
    }
    const malformed: unknown[] = [
      null,
      { ...p, kind: 'other' },
      { ...p, version: 2 },
      { ...p, pool: 'x' },
      { ...p, pool: [p.nextIndex] },
      { ...p, batches: -0.5 },
      { ...p, batches: -1 },
      { ...p, nextIndex: -5, pool: [] },
      { ...p, rngDrawn: -1 },
      { ...p, pool: Array.from({ length: 401 }, (_, i) => i) },
    ];
    for (const m of malformed) {
      expect(() => shuffledRecordBatches({ ...base, resume: m as RecordBatchesPosition })).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('says which file lacks the records a checkpoint pooled, or counted', async () => {
    // Claims 2,000 records in each file: the stream fails where the first file ends early.
    const lying = { ...base, counts: TRAIN_FILES.map(() => 2 * RECORDS_PER_FILE), shuffleFiles: false };
    await expect(take(lying, 40)).rejects.toThrow(/data_batch_1\.bin" changed: it has 1000 records/);
    // A checkpoint taken on the files as they were, resumed after one shrank: its pool is short.
    const tmp = await makeTempDir('pooled');
    try {
      const copies = await Promise.all(
        TRAIN_FILES.map(async (f, i) => tmp.write(`b${i}.bin`, await readFile(f))),
      );
      const copied = { ...base, files: copies, shuffleFiles: false };
      const { positions } = await take(copied, 40); // reads 1,680 records: past the first file's 1,000
      await truncate(copies[0], 500 * RECORD_BYTES);
      const resumed = shuffledRecordBatches({ ...copied, resume: positions[39] });
      await expect(resumed.toArray()).rejects.toThrow(/Expected 1000 records in .*b0\.bin.*has 500/);
    } finally {
      await tmp.cleanup();
    }
  });

  it('validates its options', () => {
    const bad: [Partial<ShuffledRecordBatchesOptions>, RegExp][] = [
      [{ recordBytes: 0 }, /recordBytes/],
      [{ batchSize: 0 }, /batchSize/],
      [{ capacity: 400 }, /capacity/],
      [{ seed: -1 }, /seed/],
      [{ files: [1 as unknown as string] }, /files/],
      [{ counts: [1, -1, 0, 0, 0] }, /counts/],
      [{ counts: [1, 2] }, /counts/],
      [{ prefetch: -1 }, /prefetch/],
      [{ numEpochs: 0 }, /numEpochs/],
    ];
    for (const [change, message] of bad) {
      expect(() => shuffledRecordBatches({ ...base, ...change })).toThrow(message);
    }
  });
});

describe('shuffledRecordBatches: files that changed since the pipeline was made', () => {
  async function files(lengths: number[]) {
    const tmp = await makeTempDir('changed');
    const names = await Promise.all(
      lengths.map((n, i) => tmp.write(`f${i}.bin`, new Uint8Array(n * 2).fill(i))),
    );
    return { tmp, names };
  }
  const options = (names: string[]): ShuffledRecordBatchesOptions => ({
    files: names,
    counts: [5, 5],
    recordBytes: 2,
    batchSize: 1,
    minAfterDequeue: 0,
    capacity: 1,
    seed: 1,
    shuffleFiles: false,
    numEpochs: 1,
  });

  it('a file with more records than counted fails the stream naming it (no index is given twice)', async () => {
    const { tmp, names } = await files([8, 5]);
    try {
      const { out, error } = await drain(shuffledRecordBatches(options(names)));
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).file).toBe(names[0]);
      expect((error as Error).message).toMatch(/has more than 5 records/);
      const indices = out.flatMap((b) => Array.from(b.index.data));
      expect(new Set(indices).size).toBe(indices.length);
    } finally {
      await tmp.cleanup();
    }
  });

  it('a file with fewer records than counted fails the stream naming it, as does a run that ends short', async () => {
    const shrunk = await files([3, 5]);
    const last = await files([5, 2]);
    try {
      const a = await drain(shuffledRecordBatches(options(shrunk.names)));
      expect((a.error as InputError).file).toBe(shrunk.names[0]);
      expect((a.error as Error).message).toMatch(/f0\.bin" changed: it has 3 records/);
      const b = await drain(shuffledRecordBatches(options(last.names)));
      expect((b.error as Error).message).toMatch(/ended 3 records short/);
    } finally {
      await shrunk.tmp.cleanup();
      await last.tmp.cleanup();
    }
  });
});
