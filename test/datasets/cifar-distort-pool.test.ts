import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { CifarDistortPool } from '../../src/datasets/cifar-distort-pool.js';
import { distortCifarBatch } from '../../src/image/distort-cifar-batch.js';
import {
  kernelRegionBytes,
  sharedKernelMemory,
  sharedMemoryStart,
} from '../../src/wasm/distort-cifar-kernel.js';
import { pseudoRandomBytes } from '../helpers/files.js';

const R = 3073;
const B = 5;

/** A shared memory with one worker region, then B records. */
function setup() {
  const region = kernelRegionBytes(B, 24);
  const memory = sharedKernelMemory(region + B * R)!;
  expect(memory).not.toBeNull();
  const recordsAt = sharedMemoryStart + region;
  const records = pseudoRandomBytes(B * R, 3);
  Buffer.from(records).copy(Buffer.from(memory.buffer as ArrayBuffer), recordsAt);
  const addresses = Int32Array.from({ length: B }, (_, i) => recordsAt + (B - 1 - i) * R);
  const indices = Int32Array.from([4, 40, 400, 4000, 40000]);
  const pool = new CifarDistortPool(memory, [sharedMemoryStart], B, { seed: 6 }, 'test');
  return { pool, records, addresses, indices };
}

describe('CifarDistortPool', () => {
  it('distorts records where they lie as distortCifarBatch does, into a lent array', async () => {
    const { pool, records, addresses, indices } = setup();
    try {
      // The same records, in the order the addresses name them (last first).
      const value = new Uint8Array(B * R);
      for (let i = 0; i < B; i++) value.set(records.subarray((B - 1 - i) * R, (B - i) * R), i * R);
      const expected = distortCifarBatch({ seed: 6 })({
        value: { dtype: 'uint8', shape: [B, R], data: value },
        index: { dtype: 'int32', shape: [B], data: indices },
      });
      const lent = new Float32Array(B * 24 * 24 * 3);
      const out = await pool.distort(addresses, indices, lent);
      expect(lent.byteLength).toBe(0); // moved to the worker and back as `out`
      expect(Buffer.from(out.buffer).equals(Buffer.from(expected.image.data.buffer))).toBe(true);
      const fresh = await pool.distort(addresses, indices);
      expect(Buffer.from(fresh.buffer).equals(Buffer.from(expected.image.data.buffer))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('a worker that dies fails its jobs, and every later one, with an InputError saying so', async () => {
    const { pool, addresses, indices } = setup();
    try {
      await pool.distort(addresses, indices); // started
      const pending = pool.distort(addresses, indices);
      await (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0].terminate();
      const err = await pending.then(
        () => null,
        (e: unknown) => e,
      );
      // Either the job finished before the worker went, or it failed naming the death.
      if (err !== null) {
        expect(err).toBeInstanceOf(InputError);
        expect((err as Error).message).toMatch(/distortion worker 0 died/);
      }
      await expect(pool.distort(addresses, indices)).rejects.toThrow(/distortion worker 0 died/);
      // Nothing more is awaited from any worker: none may keep the process alive.
      expect((pool as unknown as { load: number[] }).load.every((n) => n === 0)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
