import { describe, expect, it } from 'vitest';
import { CounterRng } from '../../src/core/rng.js';
import { distortCifar } from '../../src/image/distort-cifar.js';
import { distortCifarBatch } from '../../src/image/distort-cifar-batch.js';

function rawBatch(n: number, labelBytes = 1) {
  const recordBytes = labelBytes + 3072;
  const rng = new CounterRng(77, 'records');
  const data = new Uint8Array(n * recordBytes);
  for (let i = 0; i < data.length; i++) data[i] = rng.below(256);
  for (let i = 0; i < n; i++) data[i * recordBytes + labelBytes - 1] %= 10;
  const index = Int32Array.from({ length: n }, (_, i) => 1000 + 7 * i);
  return {
    key: Array.from({ length: n }, (_, i) => `r${i}`),
    value: { dtype: 'uint8' as const, shape: [n, recordBytes], data },
    index: { dtype: 'int32' as const, shape: [n], data: index },
  };
}

describe('distortCifarBatch', () => {
  it('equals per-record distortCifar with each record keyed by its index (both kernels)', () => {
    const batch = rawBatch(40);
    for (const kernel of ['auto', 'js'] as const) {
      const out = distortCifarBatch({ seed: 5, kernel })(batch);
      expect(out.image.shape).toEqual([40, 24, 24, 3]);
      expect(out.key).toEqual(batch.key);
      const single = distortCifar({ kernel: 'js' });
      for (let i = 0; i < 40; i++) {
        const record = batch.value.data.subarray(i * 3073, (i + 1) * 3073);
        const expected = single(record, new CounterRng(5, 'distort_cifar', batch.index.data[i]));
        expect(out.label.data[i]).toBe(expected.label);
        expect(Array.from(out.image.data.subarray(i * 1728, (i + 1) * 1728))).toEqual(
          Array.from(expected.image.data),
        );
      }
    }
  });

  it('gives CIFAR-100 both labels', () => {
    const batch = rawBatch(3, 2);
    const out = distortCifarBatch({ seed: 1, labelBytes: 2 })(batch);
    expect(Array.from(out.label.data)).toEqual([0, 1, 2].map((i) => batch.value.data[i * 3074 + 1]));
    expect(Array.from(out.coarseLabel!.data)).toEqual([0, 1, 2].map((i) => batch.value.data[i * 3074]));
  });

  it('rejects what is not a raw batch, and a missing seed', () => {
    const d = distortCifarBatch({ seed: 1 });
    expect(() =>
      d({ value: { dtype: 'uint8', shape: [1, 10], data: new Uint8Array(10) }, index: rawBatch(1).index }),
    ).toThrow(/Expected a uint8 tensor \[B, 3073\] for batch.value/);
    expect(() => d({ value: rawBatch(2).value, index: rawBatch(1).index })).toThrow(/for batch.index/);
    expect(() => distortCifarBatch({ seed: 1, size: 40 })).toThrow(
      /Expected an integer in \[1, 32\] .* for size but received 40/,
    );
    const short = rawBatch(2);
    expect(() =>
      d({ ...short, value: { ...short.value, data: short.value.data.subarray(0, 3073) } }),
    ).toThrow(/for batch.value/);
    expect(() => distortCifarBatch({} as never)).toThrow(
      /Expected a non-negative integer for seed but received undefined/,
    );
  });
});
