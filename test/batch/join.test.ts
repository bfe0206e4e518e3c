import { describe, expect, it } from 'vitest';
import { batchJoin, interleave, prefetch, Stream, shuffleBatchJoin } from '../../src/index.js';

const lane = (name: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `${name}${i}`, v: i }));

describe('interleave and joins', () => {
  it('deterministic interleave is round-robin over the streams still running', async () => {
    const out = await interleave([['a0', 'a1', 'a2'], ['b0'], ['c0', 'c1']]).toArray();
    expect(out).toEqual(['a0', 'b0', 'c0', 'a1', 'c1', 'a2']);
  });

  it('non-deterministic interleave still delivers everything once', async () => {
    const slow = Stream.from({
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 2));
          yield `s${i}`;
        }
      },
    });
    const out = await interleave([slow, ['f0', 'f1', 'f2']], { deterministic: false }).toArray();
    expect([...out].sort()).toEqual(['f0', 'f1', 'f2', 's0', 's1', 's2', 's3', 's4']);
    expect(out.indexOf('f2')).toBeLessThan(out.indexOf('s4'));
  });

  it('batchJoin batches the round-robin merge of its inputs', async () => {
    const out = await batchJoin([lane('a', 4), lane('b', 4)], { batchSize: 4 }).toArray();
    expect(out.map((b) => b.key)).toEqual([
      ['a0', 'b0', 'a1', 'b1'],
      ['a2', 'b2', 'a3', 'b3'],
    ]);
  });

  it('shuffleBatchJoin delivers every element of every input once, reproducibly', async () => {
    const opts = { batchSize: 5, capacity: 40, minAfterDequeue: 20, seed: 4, allowSmallerFinalBatch: true };
    const a = (await shuffleBatchJoin([lane('a', 30), lane('b', 17), lane('c', 9)], opts).toArray()).flatMap(
      (b) => b.key,
    );
    const b = (await shuffleBatchJoin([lane('a', 30), lane('b', 17), lane('c', 9)], opts).toArray()).flatMap(
      (b) => b.key,
    );
    expect(a).toHaveLength(56);
    expect(new Set(a).size).toBe(56);
    expect(a).toEqual(b);
  });

  it('an error in one input reaches the consumer and closes the others', async () => {
    let returned = false;
    const healthy = Stream.from({
      async *[Symbol.asyncIterator]() {
        try {
          for (let i = 0; ; i++) yield `h${i}`;
        } finally {
          returned = true;
        }
      },
    });
    const broken = Stream.from({
      async *[Symbol.asyncIterator]() {
        yield 'x0';
        throw new Error('broken input');
      },
    });
    await expect(interleave([healthy, broken]).toArray()).rejects.toThrow('broken input');
    expect(returned).toBe(true);
  });

  it('rejects an empty list', () => {
    expect(() => interleave([])).toThrow(
      /Expected a non-empty array of streams for sources but received \[\]/,
    );
  });
});

describe('prefetch', () => {
  it('runs ahead by at most bufferSize and keeps order', async () => {
    let pulled = 0;
    const source = Stream.from({
      *[Symbol.iterator]() {
        for (let i = 0; i < 100; i++) {
          pulled++;
          yield i;
        }
      },
    });
    const p = prefetch(source, 3);
    const it = p[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    await new Promise((r) => setTimeout(r, 5));
    expect(pulled).toBeLessThanOrEqual(1 + 3 + 1);
    expect(pulled).toBeGreaterThanOrEqual(3);
    const rest: number[] = [];
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      rest.push(r.value);
    }
    expect(rest).toEqual(Array.from({ length: 99 }, (_, i) => i + 1));
  });

  it('rejects a bad bufferSize', () => {
    expect(() => prefetch([1], 0)).toThrow(/Expected a positive integer for bufferSize but received 0/);
  });
});
