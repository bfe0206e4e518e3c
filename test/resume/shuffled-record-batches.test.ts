import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import {
  type IndexedRecordBatch,
  type RecordBatchesPosition,
  type ShuffledRecordBatchesOptions,
  shuffledRecordBatches,
} from '../../src/resume/shuffled-record-batches.js';
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

  it('says which file lacks the records a checkpoint pooled', async () => {
    // Claims 2,000 records in each file: the pool then names records the files do not hold.
    const lying = { ...base, counts: TRAIN_FILES.map(() => 2 * RECORDS_PER_FILE), shuffleFiles: false };
    const { positions } = await take(lying, 40); // reads 1,680 records: past the first file's 1,000
    const resumed = shuffledRecordBatches({ ...lying, resume: positions[39] });
    await expect(resumed.toArray()).rejects.toThrow(/Expected 2000 records in .*data_batch_1\.bin.*has 1000/);
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
