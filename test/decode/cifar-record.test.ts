import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CIFAR_IMAGE_BYTES,
  DecodeError,
  decodeCifarRecord,
  fixedLengthRecordReader,
  InvalidArgumentError,
} from '../../src/index.js';

const FIXTURE = fileURLToPath(
  new URL('../../fixtures/cifar-10-batches-bin/data_batch_1.bin', import.meta.url),
);

function pixelMismatch(image: Uint8Array, value: Uint8Array, labelBytes: number): string | null {
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      for (let c = 0; c < 3; c++) {
        const got = image[(y * 32 + x) * 3 + c];
        const want = value[labelBytes + c * 1024 + y * 32 + x];
        if (got !== want) return `pixel (${y}, ${x}, ${c}): ${got} != ${want}`;
      }
    }
  }
  return null;
}

function errorOf(call: () => unknown): Error {
  try {
    call();
  } catch (e) {
    return e as Error;
  }
  throw new Error('Expected a throw');
}

describe('decodeCifarRecord', () => {
  it('CIFAR_IMAGE_BYTES is 3072', () => {
    expect(CIFAR_IMAGE_BYTES).toBe(3072);
  });

  it('CIFAR-10: pixel (y, x, c) = value[1 + c*1024 + y*32 + x], label = byte 0 (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 3073 + 5, maxLength: 3073 + 5 }),
        fc.nat(5),
        fc.boolean(),
        (pool, byteOffset, passOptions) => {
          const value = pool.subarray(byteOffset, byteOffset + 3073);
          const ex = passOptions ? decodeCifarRecord(value, { labelBytes: 1 }) : decodeCifarRecord(value);
          expect(ex.label).toBe(value[0]);
          expect(ex.coarseLabel).toBeUndefined();
          expect(ex.fineLabel).toBeUndefined();
          expect(ex.image.dtype).toBe('uint8');
          expect(ex.image.shape).toEqual([32, 32, 3]);
          expect(ex.image.data).toBeInstanceOf(Uint8Array);
          expect(ex.image.data.length).toBe(3072);
          expect(pixelMismatch(ex.image.data, value, 1)).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('CIFAR-100 (labelBytes 2): coarseLabel = byte 0, fineLabel = label = byte 1, pixels after both (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3074, maxLength: 3074 }), (value) => {
        const ex = decodeCifarRecord(value, { labelBytes: 2 });
        expect(ex.coarseLabel).toBe(value[0]);
        expect(ex.fineLabel).toBe(value[1]);
        expect(ex.label).toBe(value[1]);
        expect(ex.image.shape).toEqual([32, 32, 3]);
        expect(pixelMismatch(ex.image.data, value, 2)).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it('the image owns its data', () => {
    const value = Uint8Array.from({ length: 3073 }, (_, i) => i % 251);
    const ex = decodeCifarRecord(value);
    const copy = Uint8Array.from(ex.image.data);
    value.fill(0);
    expect(ex.image.data).toEqual(copy);
  });

  it('a known layout: the first 32 red bytes are the top row', () => {
    const value = new Uint8Array(3073);
    value[0] = 7;
    for (let x = 0; x < 32; x++) value[1 + x] = 100 + x; // red, row 0
    value[1 + 1024 + 32 * 31 + 31] = 200; // green, bottom-right
    value[1 + 2048 + 32] = 250; // blue, (1, 0)
    const ex = decodeCifarRecord(value);
    expect(ex.label).toBe(7);
    const at = (y: number, x: number, c: number) => ex.image.data[(y * 32 + x) * 3 + c];
    for (let x = 0; x < 32; x++) expect(at(0, x, 0)).toBe(100 + x);
    expect(at(31, 31, 1)).toBe(200);
    expect(at(1, 0, 2)).toBe(250);
    expect(at(1, 0, 0)).toBe(0);
  });

  it.each([
    [1, 3072, 3073],
    [1, 3074, 3073],
    [1, 0, 3073],
    [2, 3073, 3074],
    [2, 3075, 3074],
  ])(
    'labelBytes %i with %i bytes is a DecodeError stating expected %i and received',
    (labelBytes, length, want) => {
      const err = errorOf(() =>
        decodeCifarRecord(new Uint8Array(length), { labelBytes: labelBytes as 1 | 2 }),
      );
      expect(err).toBeInstanceOf(DecodeError);
      expect(err.message).toContain(`${want}`);
      expect(err.message).toMatch(new RegExp(`received ${length}\\b`));
    },
  );

  it.each([3, 0, 1.5, '1'])('labelBytes %s is an InvalidArgumentError', (labelBytes) => {
    const err = errorOf(() => decodeCifarRecord(new Uint8Array(3073), { labelBytes: labelBytes as 1 }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).parameter).toBe('labelBytes');
    expect(err.message).toMatch(/Expected .+ for labelBytes but received/);
  });

  it('a non-Uint8Array value is an InvalidArgumentError', () => {
    const err = errorOf(() => decodeCifarRecord(Array(3073).fill(0) as unknown as Uint8Array));
    expect(err).toBeInstanceOf(InvalidArgumentError);
  });

  it('decodes the first record of the generated fixture', async () => {
    const handle = await open(FIXTURE, 'r');
    const head = new Uint8Array(3073);
    try {
      const { bytesRead } = await handle.read(head, 0, 3073, 0);
      expect(bytesRead).toBe(3073);
    } finally {
      await handle.close();
    }
    const ex = decodeCifarRecord(head);
    expect(Number.isInteger(ex.label)).toBe(true);
    expect(ex.label).toBeGreaterThanOrEqual(0);
    expect(ex.label).toBeLessThanOrEqual(9);
    expect(pixelMismatch(ex.image.data, head, 1)).toBeNull();

    // The same record through the reader (a view into its chunk) decodes identically.
    for await (const r of fixedLengthRecordReader([FIXTURE], { recordBytes: 3073 })) {
      expect(r.key).toBe(`${FIXTURE}:0`);
      const viaReader = decodeCifarRecord(r.value);
      expect(viaReader.label).toBe(ex.label);
      expect(viaReader.image.data).toEqual(ex.image.data);
      break;
    }
  });
});
