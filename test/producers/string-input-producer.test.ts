import fc from 'fast-check';
import { take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, stringInputProducer } from '../../src/index.js';

const FILES = ['a', 'b', 'c', 'd', 'e'];

async function epochsOf(list: string[], n: number, opts: Parameters<typeof stringInputProducer>[1]) {
  const all = await stringInputProducer(list, { ...opts, numEpochs: n }).toArray();
  return Array.from({ length: n }, (_, e) => all.slice(e * list.length, (e + 1) * list.length));
}

describe('stringInputProducer', () => {
  it('without shuffle yields the list in order, numEpochs times, then ends', async () => {
    expect(await stringInputProducer(['A', 'B', 'C'], { numEpochs: 2, shuffle: false }).toArray()).toEqual([
      'A',
      'B',
      'C',
      'A',
      'B',
      'C',
    ]);
  });

  it('with shuffle yields every string once per epoch, reshuffled per epoch', async () => {
    const list = Array.from({ length: 20 }, (_, i) => `f${i}`);
    const epochs = await epochsOf(list, 6, { seed: 3 });
    for (const e of epochs) expect([...e].sort()).toEqual([...list].sort());
    const distinct = new Set(epochs.map((e) => e.join()));
    expect(distinct.size).toBe(6);
  });

  it('is reproducible for a seed and differs across seeds', async () => {
    const a = await stringInputProducer(FILES, { numEpochs: 3, seed: 11 }).toArray();
    const b = await stringInputProducer(FILES, { numEpochs: 3, seed: 11 }).toArray();
    const c = await stringInputProducer(FILES.concat(FILES, FILES), { numEpochs: 3, seed: 12 }).toArray();
    const d = await stringInputProducer(FILES.concat(FILES, FILES), { numEpochs: 3, seed: 13 }).toArray();
    expect(a).toEqual(b);
    expect(c).not.toEqual(d);
  });

  it('reports the seed it chose when none was given', async () => {
    const p = stringInputProducer(FILES, { numEpochs: 1 });
    expect(Number.isInteger(p.seed)).toBe(true);
    const again = await stringInputProducer(FILES, { numEpochs: 1, seed: p.seed }).toArray();
    expect(await p.toArray()).toEqual(again);
  });

  it('epoch order is uniform: each string leads an epoch about equally often', async () => {
    const counts = new Map<string, number>();
    const epochs = await epochsOf(['x', 'y', 'z', 'w'], 4000, { seed: 5 });
    for (const e of epochs) counts.set(e[0], (counts.get(e[0]) ?? 0) + 1);
    for (const s of ['x', 'y', 'z', 'w']) expect(Math.abs((counts.get(s) ?? 0) - 1000)).toBeLessThan(150);
  });

  it('without numEpochs produces forever, lazily, and runs at most capacity ahead', async () => {
    const p = stringInputProducer(FILES, { capacity: 4, shuffle: false });
    const it = p[Symbol.asyncIterator]();
    for (let i = 0; i < 12; i++) expect((await it.next()).value).toBe(FILES[i % 5]);
    await new Promise((r) => setImmediate(r));
    const [queue] = p.stats().slice(-1);
    expect(queue.size).toBeLessThanOrEqual(4);
    expect(queue.elementsIn).toBeLessThanOrEqual(12 + 4 + 1);
    await it.return?.();
    expect(p.stageStats().done).toBe(true);
  });

  it('take() on an infinite producer ends promptly', async () => {
    const out: string[] = [];
    await new Promise<void>((resolve) =>
      stringInputProducer(FILES, { seed: 1 })
        .pipe(take(7))
        .subscribe({ next: (x) => out.push(x), complete: resolve }),
    );
    expect(out).toHaveLength(7);
  });

  it('property: over N epochs every string appears exactly N times', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 8 }),
        async (list, n, shuffle, capacity) => {
          const out = await stringInputProducer(list, { numEpochs: n, shuffle, capacity, seed: 9 }).toArray();
          expect(out).toHaveLength(list.length * n);
          const want = new Map<string, number>();
          for (const s of list) want.set(s, (want.get(s) ?? 0) + n);
          const got = new Map<string, number>();
          for (const s of out) got.set(s, (got.get(s) ?? 0) + 1);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each([
    [[], /Expected a non-empty array of strings for strings but received \[\]/],
    ['abc', /for strings but received "abc"/],
    [['a', 3], /Expected a string for strings\[1\] but received 3/],
  ])('rejects strings = %j', (strings, message) => {
    expect(() => stringInputProducer(strings as string[])).toThrow(InvalidArgumentError);
    expect(() => stringInputProducer(strings as string[])).toThrow(message);
  });

  it.each([
    [{ numEpochs: 0 }, /Expected a positive integer for numEpochs but received 0/],
    [{ numEpochs: 1.5 }, /for numEpochs but received 1.5/],
    [{ capacity: -1 }, /Expected a positive integer for capacity but received -1/],
    [{ capacity: 0 }, /for capacity but received 0/],
    [{ shuffle: 'yes' }, /Expected a boolean for shuffle but received "yes"/],
    [{ seed: -2 }, /Expected a non-negative integer for seed but received -2/],
    [{ start: 3 }, /start/],
    [{ start: { epoch: -1, index: 0 } }, /start\.epoch/],
    [{ start: { epoch: 0, index: 1 } }, /Expected an integer below 1 \(the strings\) for start\.index/],
    [{ start: { epoch: 2, index: 0 }, numEpochs: 2 }, /below numEpochs \(2\) for start\.epoch/],
  ])('rejects options %j', (options, message) => {
    expect(() => stringInputProducer(['a'], options as never)).toThrow(message);
  });

  it('start resumes inside the run: the same strings as the tail of a run from the beginning', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.nat({ max: 2 }),
        fc.nat({ max: 4 }),
        fc.boolean(),
        async (seed, epoch, index, shuffle) => {
          const all = await stringInputProducer(FILES, { numEpochs: 3, seed, shuffle }).toArray();
          const tail = await stringInputProducer(FILES, {
            numEpochs: 3,
            seed,
            shuffle,
            start: { epoch, index },
          }).toArray();
          expect(tail).toEqual(all.slice(epoch * FILES.length + index));
        },
      ),
      { numRuns: 40 },
    );
  });
});
