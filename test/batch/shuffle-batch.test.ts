import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Stream, shuffleBatch } from '../../src/index.js';

function items(n: number) {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, i }));
}

/** A source recording how many elements were pulled. */
function countingSource(n: number) {
  const state = { pulled: 0 };
  const stream = Stream.from({
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) {
        state.pulled++;
        yield { key: `k${i}`, i };
      }
    },
  });
  return { stream, state };
}

async function order(n: number, opts: Parameters<typeof shuffleBatch>[1]): Promise<number[]> {
  const out = await shuffleBatch(items(n), opts).toArray();
  return out.flatMap((b) => Array.from(b.i.data));
}

describe('shuffleBatch', () => {
  it('delivers every element exactly once, shuffled', async () => {
    const got = await order(1000, { batchSize: 10, capacity: 200, minAfterDequeue: 100, seed: 1 });
    expect(got).toHaveLength(1000);
    expect([...got].sort((a, b) => a - b)).toEqual(items(1000).map((x) => x.i));
    expect(got).not.toEqual(items(1000).map((x) => x.i));
  });

  it('the same seed gives the same batches; another seed does not', async () => {
    const opts = { batchSize: 16, capacity: 300, minAfterDequeue: 200 };
    const a = await order(2000, { ...opts, seed: 42 });
    const b = await order(2000, { ...opts, seed: 42 });
    const c = await order(2000, { ...opts, seed: 43 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('is deterministic whatever numThreads and consumer pace', async () => {
    const opts = { batchSize: 8, capacity: 120, minAfterDequeue: 100, seed: 7 };
    const base = await order(500, opts);
    for (const numThreads of [2, 4]) expect(await order(500, { ...opts, numThreads })).toEqual(base);
    const slow: number[] = [];
    for await (const b of shuffleBatch(items(500), opts)) {
      slow.push(...b.i.data);
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(slow).toEqual(base);
  });

  it('the first batch completes once minAfterDequeue + batchSize elements have arrived', async () => {
    const { stream, state } = countingSource(10_000);
    const it = shuffleBatch(stream, {
      batchSize: 32,
      capacity: 1000 + 3 * 32,
      minAfterDequeue: 1000,
      seed: 3,
    })[Symbol.asyncIterator]();
    await it.next();
    expect(state.pulled).toBeGreaterThanOrEqual(1000 + 32);
    // The runner may run ahead up to capacity, never beyond (plus the element in hand).
    expect(state.pulled).toBeLessThanOrEqual(1000 + 3 * 32 + 32 + 1);
    await it.return?.();
  });

  it('capacity below minAfterDequeue + batchSize does not deadlock', async () => {
    const got = await order(300, { batchSize: 50, capacity: 30, minAfterDequeue: 20, seed: 2 });
    expect(got).toHaveLength(300);
  });

  it('drains the pool at the end; the short final batch only with allowSmallerFinalBatch', async () => {
    const drop = await shuffleBatch(items(105), {
      batchSize: 10,
      capacity: 60,
      minAfterDequeue: 50,
      seed: 1,
    }).toArray();
    expect(drop.map((b) => b.key.length)).toEqual(Array(10).fill(10));
    const keep = await shuffleBatch(items(105), {
      batchSize: 10,
      capacity: 60,
      minAfterDequeue: 50,
      seed: 1,
      allowSmallerFinalBatch: true,
    }).toArray();
    expect(keep.map((b) => b.key.length)).toEqual([...Array(10).fill(10), 5]);
    expect(new Set(keep.flatMap((b) => b.key)).size).toBe(105);
  });

  it('mixes as a buffer of minAfterDequeue + 1: mean displacement about 0.74 m', async () => {
    // Element i waits a geometric number of picks (mean m + 1) in the pool, so its output position
    // differs from i by |W - m|, whose mean is about 2m/e.
    for (const m of [50, 400]) {
      const n = 20_000;
      const got = await order(n, { batchSize: 100, capacity: m + 300, minAfterDequeue: m, seed: 11 });
      let total = 0;
      for (const [position, value] of got.entries()) total += Math.abs(position - value);
      const mean = total / n;
      expect(mean).toBeGreaterThan(0.6 * m);
      expect(mean).toBeLessThan(0.9 * m);
    }
  });

  it('property: every element exactly once for any sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 1000 }),
        async (n, batchSize, m, extra, seed) => {
          const got = await order(n, {
            batchSize,
            capacity: m + extra,
            minAfterDequeue: m,
            seed,
            allowSmallerFinalBatch: true,
          });
          expect([...got].sort((a, b) => a - b)).toEqual(items(n).map((x) => x.i));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('reports TF fraction_over_m_of_(capacity-m)_full and the seed', async () => {
    const s = shuffleBatch(items(500), { batchSize: 10, capacity: 150, minAfterDequeue: 100 });
    expect(Number.isInteger(s.seed)).toBe(true);
    const it = s[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setImmediate(r));
    const st = s.stageStats();
    expect(st.name).toBe('shuffle_batch');
    expect(st.size).toBeGreaterThanOrEqual(100);
    expect(st.size).toBeLessThanOrEqual(150);
    expect(st.fractionFull).toBeCloseTo(Math.max(0, st.size - 100) / 50, 10);
    await it.return?.();
  });

  it.each([
    [
      { batchSize: 2, capacity: 10, minAfterDequeue: 10 },
      /Expected an integer below capacity \(10\) for minAfterDequeue but received 10/,
    ],
    [{ batchSize: 2, capacity: 10, minAfterDequeue: 20 }, /for minAfterDequeue but received 20/],
    [{ batchSize: 2, minAfterDequeue: 1 }, /Expected a positive integer for capacity but received undefined/],
    [{ batchSize: 2, capacity: 10 }, /for minAfterDequeue but received undefined/],
    [{ batchSize: 0, capacity: 10, minAfterDequeue: 1 }, /for batchSize but received 0/],
    [{ batchSize: 1, capacity: 10, minAfterDequeue: 1, seed: 0.5 }, /for seed but received 0.5/],
  ])('rejects options %j', (options, message) => {
    expect(() => shuffleBatch(items(1), options as never)).toThrow(InvalidArgumentError);
    expect(() => shuffleBatch(items(1), options as never)).toThrow(message);
  });
});
