/**
 * The pipeline-level properties of issue 2, on the CIFAR fixture:
 * bounded memory, laziness, cancellation, determinism and accounting.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, map, take, tap, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  batch,
  decodeCifarRecord,
  fixedLengthRecordReader,
  shuffleBatch,
  stringInputProducer,
} from '../../src/index.js';
import { RECORD_BYTES, RECORDS_PER_FILE, TRAIN_FILES } from '../helpers/fixture.js';
import { leaked, resourceCounts, settle } from '../helpers/resources.js';

interface PipelineOptions {
  numEpochs?: number;
  shuffleFiles?: boolean;
  seed?: number;
  numThreads?: number;
  shuffled?: boolean;
}

function pipeline(o: PipelineOptions = {}) {
  const counts = { read: 0, dropped: 0 };
  const files = stringInputProducer(TRAIN_FILES, {
    numEpochs: o.numEpochs,
    shuffle: o.shuffleFiles ?? true,
    seed: o.seed ?? 1,
  });
  const records = fixedLengthRecordReader(files, { recordBytes: RECORD_BYTES });
  const examples = records.pipe(
    tap(() => counts.read++),
    map((r) => ({ key: r.key, ...decodeCifarRecord(r.value) })),
  );
  const batches = o.shuffled
    ? shuffleBatch(examples, {
        batchSize: 32,
        capacity: 500,
        minAfterDequeue: 400,
        seed: o.seed ?? 1,
        numThreads: o.numThreads,
      })
    : batch(examples, { batchSize: 32, capacity: 64, numThreads: o.numThreads });
  return { batches, counts };
}

describe('bounded memory', () => {
  it('a consumer far slower than the readers never has more read-but-unconsumed than the capacities allow', async () => {
    const counts = { read: 0, dropped: 0 };
    const records = fixedLengthRecordReader(stringInputProducer(TRAIN_FILES, { numEpochs: 1, seed: 2 }), {
      recordBytes: RECORD_BYTES,
    });
    const examples = records.pipe(
      tap(() => counts.read++),
      map((r) => ({ key: r.key, ...decodeCifarRecord(r.value) })),
      filter((e) => {
        const keep = e.label !== 3;
        if (!keep) counts.dropped++;
        return keep;
      }),
    );
    const capacity = 300;
    const minAfterDequeue = 200;
    const batchSize = 16;
    const batches = shuffleBatch(examples, { batchSize, capacity, minAfterDequeue, seed: 3 });
    let consumed = 0;
    let maxInFlight = 0;
    let maxFromStats = 0;
    for await (const b of batches) {
      consumed += b.key.length;
      // ~1 ms per element: about 100x slower than reading and decoding one.
      await new Promise((r) => setTimeout(r, batchSize));
      maxInFlight = Math.max(maxInFlight, counts.read - counts.dropped - consumed);
      const held = batches.stats().reduce((sum, s) => sum + s.size, 0);
      maxFromStats = Math.max(maxFromStats, held);
      if (consumed >= 1600) break;
    }
    // Queue capacity + the element the runner holds + the pipe's one in hand.
    expect(maxInFlight).toBeLessThanOrEqual(capacity + 2);
    expect(maxInFlight).toBeGreaterThan(minAfterDequeue);
    expect(maxFromStats).toBeLessThanOrEqual(capacity + 32 + 2);
  });
});

describe('laziness', () => {
  it('numEpochs unset + taking 3 batches finishes promptly and stops all reads', async () => {
    const { batches, counts } = pipeline({ shuffled: true });
    const t0 = performance.now();
    const three = await firstValueFrom(batches.pipe(take(3), toArray()));
    expect(three).toHaveLength(3);
    expect(performance.now() - t0).toBeLessThan(5000);
    await settle();
    const readAfterStop = counts.read;
    await new Promise((r) => setTimeout(r, 50));
    expect(counts.read).toBe(readAfterStop);
    // It read what the first batches needed plus bounded look-ahead, not whole epochs.
    expect(counts.read).toBeLessThan(500 + 32 * 3 + 10);
    for (const s of batches.stats()) expect(s.done, s.name).toBe(true);
  });
});

describe('cancellation', () => {
  it('break closes every file handle and timer', async () => {
    const before = resourceCounts();
    const { batches } = pipeline({ shuffled: true, numThreads: 2 });
    const sub = batches.stats$.subscribe();
    let n = 0;
    for await (const _ of batches) if (++n === 2) break;
    sub.unsubscribe();
    await settle();
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it('unsubscribe closes every file handle', async () => {
    const before = resourceCounts();
    const { batches } = pipeline({ shuffled: false });
    await new Promise<void>((resolve) => {
      const sub = batches.subscribe(() => {
        sub.unsubscribe();
        resolve();
      });
    });
    await settle();
    await new Promise((r) => setTimeout(r, 20));
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it('a process that breaks out of an infinite pipeline exits by itself', () => {
    const child = fileURLToPath(new URL('./exit-child.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', child, ...TRAIN_FILES], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('took 2 batches');
  });
});

async function digest(o: PipelineOptions): Promise<string> {
  const hash = createHash('sha256');
  const { batches } = pipeline(o);
  for await (const b of batches) {
    hash.update(b.key.join('\n'));
    hash.update(b.image.data);
    hash.update(new Uint8Array(b.label.data.buffer));
  }
  return hash.digest('hex');
}

describe('determinism', () => {
  it('the same seed gives identical batches (keys and bytes) across runs and numThreads 1, 2, 4', async () => {
    const base = await digest({ numEpochs: 2, seed: 5, shuffled: true });
    expect(await digest({ numEpochs: 2, seed: 5, shuffled: true })).toBe(base);
    expect(await digest({ numEpochs: 2, seed: 5, shuffled: true, numThreads: 2 })).toBe(base);
    expect(await digest({ numEpochs: 2, seed: 5, shuffled: true, numThreads: 4 })).toBe(base);
    expect(await digest({ numEpochs: 2, seed: 6, shuffled: true })).not.toBe(base);
  });
});

describe('accounting', () => {
  it.each([
    ['shuffled files and shuffleBatch', { shuffled: true, shuffleFiles: true }],
    ['ordered files and batch', { shuffled: false, shuffleFiles: false }],
  ])('over N epochs every record key appears exactly N times (%s)', async (_name, o) => {
    const epochs = 3;
    const seen = new Map<string, number>();
    const { batches } = pipeline({ ...o, numEpochs: epochs, seed: 8 });
    let total = 0;
    for await (const b of batches) {
      for (const k of b.key) seen.set(k, (seen.get(k) ?? 0) + 1);
      total += b.key.length;
    }
    const all = TRAIN_FILES.length * RECORDS_PER_FILE;
    // Batches of 32 drop the remainder of the last batch only.
    expect(total).toBe(epochs * all - ((epochs * all) % 32));
    const counts = [...seen.values()];
    expect(seen.size).toBe(all);
    expect(counts.filter((c) => c !== epochs).length).toBeLessThanOrEqual((epochs * all) % 32);
    expect(Math.max(...counts)).toBe(epochs);
  });
});
