import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Stream } from '../../src/core/stream.js';
import type { Tensor } from '../../src/core/tensor.js';
import { MapError, mapParallel } from '../../src/parallel/map-parallel.js';
import { leaked, resourceCounts, settle } from '../helpers/resources.js';

const fns = new URL('./fixtures-fns.ts', import.meta.url);
interface Item {
  key: string;
  v: number;
}
/** What the fixture functions return, all fields together (each test reads its own). */
interface Out extends Item {
  draw: number;
  index: number;
  image: Tensor<'float32'>;
}
const items = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, v: i }));
const dir = mkdtempSync(join(tmpdir(), 'inqueue-mp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mapParallel', () => {
  it('applies a module function on workers, keeping the input order', async () => {
    const out = await mapParallel<unknown, Out>(
      items(40),
      { module: fns, export: 'double' },
      { numThreads: 2 },
    ).toArray();
    expect(out.map((x) => x.v)).toEqual(items(40).map((x) => 2 * x.v));
  });

  it('accepts a self-contained function', async () => {
    const out = await mapParallel(items(10), (x: { v: number }) => x.v * x.v, { numThreads: 2 }).toArray();
    expect(out).toEqual(items(10).map((x) => x.v * x.v));
  });

  it('gives every element the same random draws whatever numThreads (0 = inline)', async () => {
    const run = (numThreads: number) =>
      mapParallel<unknown, Out>(
        items(30),
        { module: fns, export: 'withDraw' },
        { numThreads, seed: 99 },
      ).toArray();
    const inline = await run(0);
    expect(inline.map((x) => x.index)).toEqual(items(30).map((x) => x.v));
    expect(new Set(inline.map((x) => x.draw)).size).toBe(30);
    expect(await run(1)).toEqual(inline);
    expect(await run(3)).toEqual(inline);
    const chunked = await mapParallel<unknown, Out>(
      items(30),
      { module: fns, export: 'withDraw' },
      { numThreads: 2, seed: 99, chunkSize: 7 },
    ).toArray();
    expect(chunked).toEqual(inline);
    const other = await mapParallel<unknown, Out>(
      items(30),
      { module: fns, export: 'withDraw' },
      { numThreads: 0, seed: 100 },
    ).toArray();
    expect(other.map((x) => x.draw)).not.toEqual(inline.map((x) => x.draw));
  });

  it('deterministic: false delivers every element once', async () => {
    const out = await mapParallel<unknown, Out>(
      items(50),
      { module: fns, export: 'double' },
      { numThreads: 2, deterministic: false },
    ).toArray();
    expect(out.map((x) => x.v).sort((a, b) => a - b)).toEqual(items(50).map((x) => 2 * x.v));
  });

  it('moves tensor data between threads, copying only the bytes of a view', async () => {
    const big = new Uint8Array(1 << 20);
    big.fill(255);
    const image = { dtype: 'uint8' as const, shape: [2, 2, 1], data: big.subarray(10, 14) };
    const [out] = await mapParallel<unknown, Out>(
      [{ key: 'a', image }],
      { module: fns, export: 'scaleImage' },
      { numThreads: 1 },
    ).toArray();
    expect(out.image.dtype).toBe('float32');
    expect(Array.from(out.image.data)).toEqual([1, 1, 1, 1]);
    expect(out.image.data.buffer.byteLength).toBe(16);
    expect(big.byteLength).toBe(1 << 20); // the source chunk was neither detached nor modified
  });

  it('a function error reaches the consumer as a MapError naming the element key', async () => {
    const err = await mapParallel<unknown, Out>(
      items(20),
      { module: fns, export: 'failOnSeven' },
      { numThreads: 2 },
    )
      .toArray()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).key).toBe('k7');
    expect((err as MapError).message).toMatch(/failed on element "k7": RangeError: cannot handle 7/);
  });

  it('the same error inline (numThreads 0)', async () => {
    const err = await mapParallel<unknown, Out>(
      items(20),
      { module: fns, export: 'failOnSeven' },
      { numThreads: 0 },
    )
      .toArray()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).key).toBe('k7');
  });

  it('replaces a worker that dies and retries its element once', async () => {
    const marker = join(dir, 'died-once');
    const input = items(8).map((x) => ({ ...x, marker }));
    const out = await mapParallel<unknown, Out>(
      input,
      { module: fns, export: 'exitOnceOnThree' },
      { numThreads: 2 },
    ).toArray();
    expect(out.map((x) => x.v)).toEqual(items(8).map((x) => x.v));
  });

  it('reports an element whose worker dies twice', async () => {
    const err = await mapParallel<unknown, Out>(
      items(8),
      { module: fns, export: 'alwaysExitOnFive' },
      { numThreads: 2 },
    )
      .toArray()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).key).toBe('k5');
    expect((err as MapError).message).toMatch(/worker died twice while processing element "k5"/);
  });

  it('with chunks, still names the one element that kills its worker twice', async () => {
    const err = await mapParallel(
      items(24),
      { module: fns, export: 'alwaysExitOnFive' },
      { numThreads: 2, chunkSize: 4 },
    )
      .toArray()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).key).toBe('k5');
  });

  it('with chunks, a function error names its element and earlier elements are delivered', async () => {
    const seen: number[] = [];
    const err = await (async () => {
      for await (const x of mapParallel<unknown, Out>(
        items(20),
        { module: fns, export: 'failOnSeven' },
        { numThreads: 2, chunkSize: 3 },
      ))
        seen.push(x.v);
    })().catch((e: unknown) => e);
    expect((err as MapError).key).toBe('k7');
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('pulls at most capacity elements ahead of a slow consumer', async () => {
    let pulled = 0;
    const source = Stream.from({
      *[Symbol.iterator]() {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield { key: `k${i}`, v: i };
        }
      },
    });
    const it = mapParallel<unknown, Out>(
      source,
      { module: fns, export: 'double' },
      { numThreads: 2, capacity: 6 },
    )[Symbol.asyncIterator]();
    let consumed = 0;
    for (let i = 0; i < 20; i++) {
      await it.next();
      consumed++;
      await new Promise((r) => setTimeout(r, 5));
      expect(pulled - consumed).toBeLessThanOrEqual(6);
    }
    await it.return?.();
  });

  it('break terminates the workers and leaves no handles', async () => {
    await settle();
    const before = resourceCounts();
    for await (const _ of mapParallel<unknown, Out>(
      items(100),
      { module: fns, export: 'double' },
      { numThreads: 2 },
    ))
      break;
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it.each([
    [{ numThreads: -1 }, /Expected a non-negative integer for numThreads but received -1/],
    [{ capacity: 0 }, /Expected a positive integer for capacity but received 0/],
    [{ deterministic: 'no' }, /Expected a boolean for deterministic/],
  ])('rejects options %j', (options, message) => {
    expect(() => mapParallel(items(1), (x) => x, options as never)).toThrow(message);
  });

  it('rejects something that is not a function or a module reference', () => {
    expect(() => mapParallel<unknown, Out>(items(1), 42 as never)).toThrow(
      /Expected a function or \{ module, export \} for fn but received 42/,
    );
  });
});

describe('mapParallel edge cases found in review', () => {
  it('return() while a next() is pending ends it instead of hanging', async () => {
    const slow = Stream.from({
      async *[Symbol.asyncIterator]() {
        for (let i = 0; ; i++) {
          await new Promise((r) => setTimeout(r, 20));
          yield { key: `k${i}`, v: i };
        }
      },
    });
    const it = mapParallel<unknown, Out>(slow, { module: fns, export: 'double' }, { numThreads: 1 })[
      Symbol.asyncIterator
    ]();
    await it.next();
    const pending = it.next();
    await it.return?.();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
  });

  it('an upstream error comes after the same elements whatever numThreads', async () => {
    const failing = () =>
      Stream.from({
        async *[Symbol.asyncIterator]() {
          for (let i = 0; i < 10; i++) yield { key: `k${i}`, v: i };
          throw new Error('upstream broke after 10');
        },
      });
    for (const numThreads of [0, 1, 2]) {
      const seen: number[] = [];
      const err = await (async () => {
        for await (const x of mapParallel<unknown, Out>(
          failing(),
          { module: fns, export: 'double' },
          { numThreads, chunkSize: 3 },
        ))
          seen.push(x.v);
      })().catch((e: unknown) => e);
      expect((err as Error).message).toBe('upstream broke after 10');
      expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
    }
  });

  it('results are copied by default, so a function may keep the arrays it returns', async () => {
    const out = await mapParallel(
      [1, 2, 3],
      (x: number) => {
        const g = globalThis as { table?: Float32Array };
        g.table ??= Float32Array.of(1, 2, 3, 4);
        return { v: x, table: g.table };
      },
      { numThreads: 1 },
    ).toArray();
    expect(out.map((o) => Array.from(o.table))).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
  });

  it('a self-contained function with nested named functions runs on workers (tsx __name)', async () => {
    const out = await mapParallel(
      [1, 2],
      (x: number) => {
        function twice(y: number) {
          return 2 * y;
        }
        return twice(x);
      },
      { numThreads: 1 },
    ).toArray();
    expect(out).toEqual([2, 4]);
  });
});
