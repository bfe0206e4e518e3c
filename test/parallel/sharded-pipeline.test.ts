import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { shardedPipeline } from '../../src/parallel/sharded-pipeline.js';
import { leaked, resourceCounts, settle } from '../helpers/resources.js';

const fns = new URL('./shard-fns.ts', import.meta.url);
interface Item {
  key: string;
  v: number;
  data?: Float32Array;
}

describe('shardedPipeline', () => {
  it('interleaves the shards round-robin, identically for numThreads 0, 1, 2 and 3', async () => {
    const run = (numThreads: number) =>
      shardedPipeline<Item>(
        { module: fns, export: 'stride' },
        { numShards: 3, numThreads, args: { n: 20 } },
      ).toArray();
    const inline = await run(0);
    expect(inline.map((x) => x.v)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Array.from(inline[7].data!)).toEqual([7, 14]);
    for (const t of [1, 2, 3]) expect(await run(t)).toEqual(inline);
  });

  it('a shard error reaches the consumer naming the shard', async () => {
    const err = await shardedPipeline<Item>(
      { module: fns, export: 'failingShard' },
      { numShards: 2, numThreads: 2 },
    )
      .toArray()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/shard 1 failed: RangeError: shard 1 broke/);
  });

  it('a worker that dies fails the stream, naming its shards', async () => {
    const err = await shardedPipeline<Item>(
      { module: fns, export: 'dyingShard' },
      { numShards: 2, numThreads: 2 },
    )
      .toArray()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/the worker running shards \[0\] died/);
  });

  it('break stops the workers and leaves no handles', async () => {
    await settle();
    const before = resourceCounts();
    let n = 0;
    for await (const _ of shardedPipeline<Item>(
      { module: fns, export: 'endless' },
      { numShards: 2, numThreads: 2 },
    )) {
      if (++n === 10) break;
    }
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it.each([
    [{}, /Expected a positive integer for numShards but received undefined/],
    [{ numShards: 2, numThreads: -1 }, /Expected a non-negative integer for numThreads but received -1/],
    [{ numShards: 2, prefetch: 0 }, /Expected a positive integer for prefetch but received 0/],
  ])('rejects options %j', (options, message) => {
    expect(() => shardedPipeline({ module: fns, export: 'stride' }, options as never)).toThrow(message);
  });

  it('rejects a factory that is not a module reference', () => {
    expect(() => shardedPipeline((() => []) as never, { numShards: 1 })).toThrow(
      /Expected \{ module, export \} for factory/,
    );
  });
});

describe('shardedPipeline cleanup', () => {
  it('an error stops the workers (no handles left)', async () => {
    await settle();
    const before = resourceCounts();
    await shardedPipeline<Item>({ module: fns, export: 'failingShard' }, { numShards: 2, numThreads: 2 })
      .toArray()
      .catch(() => undefined);
    await settle();
    await new Promise((r) => setTimeout(r, 100));
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it('delivers what a shard produced before its error', async () => {
    const seen: string[] = [];
    await (async () => {
      for await (const x of shardedPipeline<Item>(
        { module: fns, export: 'failingShard' },
        { numShards: 2, numThreads: 2, prefetch: 4 },
      ))
        seen.push(x.key);
    })().catch(() => undefined);
    expect(seen).toEqual(['s0', 's1', 's0b']);
  });
});

describe('shardedPipeline errors keep their class and context', () => {
  it('a TruncatedRecordError from a shard is the same inline and on a worker', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { TruncatedRecordError } = await import('../../src/core/errors.js');
    const dir = mkdtempSync(join(tmpdir(), 'inqueue-shard-'));
    const file = join(dir, 'short.bin');
    writeFileSync(file, new Uint8Array(6));
    try {
      for (const numThreads of [0, 1]) {
        const err = await shardedPipeline(
          { module: fns, export: 'truncatedShard' },
          { numShards: 1, numThreads, args: { file } },
        )
          .toArray()
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TruncatedRecordError);
        expect((err as InstanceType<typeof TruncatedRecordError>).file).toBe(file);
        expect((err as InstanceType<typeof TruncatedRecordError>).offset).toBe(4);
        expect((err as Error).message).toMatch(/^shardedPipeline: shard 0 failed: TruncatedRecordError: /);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
