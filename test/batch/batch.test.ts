import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batch, DecodeError, InvalidArgumentError, Stream, type Tensor } from '../../src/index.js';

interface Ex extends Record<string, unknown> {
  key: string;
  label: number;
  image: Tensor<'uint8'>;
}

function example(i: number): Ex {
  return {
    key: `k${i}`,
    label: i,
    image: { dtype: 'uint8', shape: [2, 2, 1], data: Uint8Array.from([i, i + 1, i + 2, i + 3]) },
  };
}

function examples(n: number): Ex[] {
  return Array.from({ length: n }, (_, i) => example(i));
}

describe('batch', () => {
  it('stacks each field along a new leading dimension, in order', async () => {
    const out = await batch(examples(6), { batchSize: 3 }).toArray();
    expect(out).toHaveLength(2);
    expect(out[0].key).toEqual(['k0', 'k1', 'k2']);
    expect(out[1].label).toEqual({ dtype: 'int32', shape: [3], data: Int32Array.from([3, 4, 5]) });
    expect(out[0].image.shape).toEqual([3, 2, 2, 1]);
    expect(out[0].image.dtype).toBe('uint8');
    expect(Array.from(out[1].image.data.subarray(4, 8))).toEqual([4, 5, 6, 7]);
  });

  it('drops the final partial batch unless allowSmallerFinalBatch', async () => {
    expect((await batch(examples(7), { batchSize: 3 }).toArray()).map((b) => b.key)).toEqual([
      ['k0', 'k1', 'k2'],
      ['k3', 'k4', 'k5'],
    ]);
    const withSmall = await batch(examples(7), { batchSize: 3, allowSmallerFinalBatch: true }).toArray();
    expect(withSmall.map((b) => b.key.length)).toEqual([3, 3, 1]);
    expect(withSmall[2].image.shape).toEqual([1, 2, 2, 1]);
  });

  it('numbers that are not all int32 integers stack as float32', async () => {
    const [b] = await batch(
      [
        { key: 'a', w: 0.5 },
        { key: 'b', w: 2 },
      ],
      { batchSize: 2 },
    ).toArray();
    expect(b.w.dtype).toBe('float32');
    expect(Array.from(b.w.data)).toEqual([0.5, 2]);
  });

  it('a capacity below batchSize does not deadlock (incremental dequeue)', async () => {
    const out = await batch(examples(20), { batchSize: 8, capacity: 3 }).toArray();
    expect(out.map((b) => b.key.length)).toEqual([8, 8]);
  });

  it('property: concatenated batches are the input, minus the dropped remainder', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (n, batchSize, capacity, numThreads, allowSmallerFinalBatch) => {
          const out = await batch(examples(n), {
            batchSize,
            capacity,
            numThreads,
            allowSmallerFinalBatch,
          }).toArray();
          const keys = out.flatMap((b) => b.key);
          const expected = allowSmallerFinalBatch ? n : n - (n % batchSize);
          expect(keys).toEqual(examples(expected).map((e) => e.key));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('holds at most capacity elements ahead of a slow consumer', async () => {
    let pulled = 0;
    const source = Stream.from({
      *[Symbol.iterator]() {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield example(i);
        }
      },
    });
    const b = batch(source, { batchSize: 4, capacity: 10 });
    let consumed = 0;
    for await (const x of b) {
      consumed += x.key.length;
      await new Promise((r) => setTimeout(r, 1));
      expect(pulled - consumed).toBeLessThanOrEqual(10 + 4 + 1);
      if (consumed >= 80) break;
    }
    expect(b.stageStats().done).toBe(true);
  });

  it('names the example and field when examples do not stack', async () => {
    const bad = [
      example(0),
      { ...example(1), image: { dtype: 'uint8', shape: [3], data: new Uint8Array(3) } },
    ];
    await expect(batch(bad, { batchSize: 2 }).toArray()).rejects.toThrow(DecodeError);
    await expect(batch(bad, { batchSize: 2 }).toArray()).rejects.toThrow(
      /Expected a uint8 tensor of shape \[2, 2, 1\] for field image of example "k1" but received a uint8 tensor of shape \[3\]/,
    );
    await expect(batch([{ key: 'a', x: 1 }, { key: 'b' }], { batchSize: 2 }).toArray()).rejects.toThrow(
      /Expected fields \[key, x\] for example "b" but received \[key\]/,
    );
    await expect(batch([{ key: 'a', x: {} }], { batchSize: 1 }).toArray()).rejects.toThrow(
      /Expected a tensor value, a number or a string for field x/,
    );
  });

  it('passes an upstream error to the consumer', async () => {
    const failing = Stream.from({
      async *[Symbol.asyncIterator]() {
        yield example(0);
        throw new Error('reader failed on k1');
      },
    });
    await expect(batch(failing, { batchSize: 1 }).toArray()).rejects.toThrow('reader failed on k1');
  });

  it.each([
    [{ batchSize: 0 }, /Expected a positive integer for batchSize but received 0/],
    [{}, /for batchSize but received undefined/],
    [{ batchSize: 2, capacity: -1 }, /Expected a positive integer for capacity but received -1/],
    [{ batchSize: 2, numThreads: 0 }, /for numThreads but received 0/],
    [{ batchSize: 2, allowSmallerFinalBatch: 1 }, /Expected a boolean for allowSmallerFinalBatch/],
  ])('rejects options %j', (options, message) => {
    expect(() => batch(examples(1), options as never)).toThrow(InvalidArgumentError);
    expect(() => batch(examples(1), options as never)).toThrow(message);
  });
});

describe('batch number dtypes', () => {
  it('keeps the dtype of a number field chosen by the first batch, and says how to widen it', async () => {
    const rows = [
      { key: 'a', w: 1 },
      { key: 'b', w: 2 },
      { key: 'c', w: 0.5 },
      { key: 'd', w: 3 },
    ];
    await expect(batch(rows, { batchSize: 2 }).toArray()).rejects.toThrow(
      /Expected an int32 integer for field w of example "c" .* but received 0.5; pass dtypes: \{ w: 'float32' \}/,
    );
    const out = await batch(rows, { batchSize: 2, dtypes: { w: 'float32' } }).toArray();
    expect(out.map((b) => b.w.dtype)).toEqual(['float32', 'float32']);
    expect(Array.from(out[1].w.data)).toEqual([0.5, 3]);
  });

  it('rejects an unknown dtype', () => {
    expect(() => batch([{ key: 'a', w: 1 }], { batchSize: 1, dtypes: { w: 'int64' as never } })).toThrow(
      /Expected one of 'int32', 'float32' for dtypes.w but received "int64"/,
    );
  });

  it('batches examples typed by an interface, optional fields included (compile-time check)', async () => {
    interface Labeled {
      key: string;
      label: number;
      coarse?: number;
    }
    const rows: Labeled[] = [
      { key: 'a', label: 1, coarse: 0 },
      { key: 'b', label: 2, coarse: 1 },
    ];
    const [b] = await batch(Stream.from<Labeled>(rows), { batchSize: 2 }).toArray();
    const coarse: Tensor<'int32' | 'float32'> = b.coarse;
    expect(Array.from(coarse.data)).toEqual([0, 1]);
  });
});

describe('batch typed-array fields', () => {
  it('stacks a typed array field (a raw record) into a [B, length] tensor', async () => {
    const rows = [
      { key: 'a', value: Uint8Array.of(1, 2, 3) },
      { key: 'b', value: Uint8Array.of(4, 5, 6) },
    ];
    const [b] = await batch(rows, { batchSize: 2 }).toArray();
    expect(b.value).toEqual({ dtype: 'uint8', shape: [2, 3], data: Uint8Array.of(1, 2, 3, 4, 5, 6) });
  });

  it('names the example whose array does not match', async () => {
    const rows = [
      { key: 'a', value: Uint8Array.of(1, 2, 3) },
      { key: 'b', value: Uint8Array.of(4, 5) },
    ];
    await expect(batch(rows, { batchSize: 2 }).toArray()).rejects.toThrow(
      /Expected a uint8 array of length 3 for field value of example "b" but received Uint8Array\(2\)/,
    );
  });
});
