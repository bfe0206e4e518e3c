import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, type DType, decodeRaw, InvalidArgumentError } from '../../src/index.js';

const SIZES: Record<DType, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  int32: 4,
  float32: 4,
  float64: 8,
};
const ARRAYS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;
const DTYPES = Object.keys(SIZES) as DType[];

function viewRead(view: DataView, dtype: DType, offset: number, littleEndian: boolean): number {
  switch (dtype) {
    case 'uint8':
      return view.getUint8(offset);
    case 'int8':
      return view.getInt8(offset);
    case 'uint16':
      return view.getUint16(offset, littleEndian);
    case 'int16':
      return view.getInt16(offset, littleEndian);
    case 'int32':
      return view.getInt32(offset, littleEndian);
    case 'float32':
      return view.getFloat32(offset, littleEndian);
    case 'float64':
      return view.getFloat64(offset, littleEndian);
  }
}

/** Elementwise, NaN- and -0-exact comparison; returns the first mismatch for a readable failure. */
function firstMismatch(actual: ArrayLike<number>, expected: number[]): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) return `element ${i}: ${actual[i]} != ${expected[i]}`;
  }
  return null;
}

describe('decodeRaw', () => {
  for (const dtype of DTYPES) {
    const size = SIZES[dtype];
    it(`${dtype}: round-trips against DataView reads, both endiannesses, any byte offset (property)`, () => {
      fc.assert(
        fc.property(
          fc.nat(40),
          fc.nat(7),
          fc.boolean(),
          fc.boolean(),
          fc.uint8Array({ minLength: 40 * 8 + 8, maxLength: 40 * 8 + 8 }),
          (count, byteOffset, littleEndian, passOption, pool) => {
            // An unaligned window into a larger buffer, like a reader's view.
            const bytes = pool.subarray(byteOffset, byteOffset + count * size);
            const out = passOption ? decodeRaw(bytes, dtype, { littleEndian }) : decodeRaw(bytes, dtype);
            const le = passOption ? littleEndian : true;
            expect(out.dtype).toBe(dtype);
            expect(out.shape).toEqual([count]);
            expect(out.data).toBeInstanceOf(ARRAYS[dtype]);
            const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
            const expected = Array.from({ length: count }, (_, i) => viewRead(view, dtype, i * size, le));
            expect(firstMismatch(out.data, expected)).toBeNull();
            // The output owns its data: the input window is untouched and changing it changes nothing.
            expect(out.data.buffer).not.toBe(pool.buffer);
            const before = Array.from(out.data);
            bytes.fill(0xa5);
            expect(firstMismatch(out.data, before)).toBeNull();
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('decodes known values', () => {
    expect(Array.from(decodeRaw(Uint8Array.of(1, 2), 'uint16').data)).toEqual([0x0201]);
    expect(Array.from(decodeRaw(Uint8Array.of(1, 2), 'uint16', { littleEndian: false }).data)).toEqual([
      0x0102,
    ]);
    expect(Array.from(decodeRaw(Uint8Array.of(0xff, 0x80), 'int8').data)).toEqual([-1, -128]);
    expect(Array.from(decodeRaw(Uint8Array.of(0xff, 0x80), 'uint8', { littleEndian: false }).data)).toEqual([
      255, 128,
    ]);
    expect(Array.from(decodeRaw(Uint8Array.of(0, 0, 0x80, 0x3f), 'float32').data)).toEqual([1]);
    expect(
      Array.from(decodeRaw(Uint8Array.of(0x3f, 0x80, 0, 0), 'float32', { littleEndian: false }).data),
    ).toEqual([1]);
    expect(Array.from(decodeRaw(Uint8Array.of(0xfe, 0xff, 0xff, 0xff), 'int32').data)).toEqual([-2]);
    expect(Array.from(decodeRaw(Uint8Array.of(0, 0, 0, 0, 0, 0, 0xf0, 0xbf), 'float64').data)).toEqual([-1]);
  });

  it('empty input gives shape [0]', () => {
    for (const dtype of DTYPES) {
      const out = decodeRaw(new Uint8Array(0), dtype);
      expect(out.shape).toEqual([0]);
      expect(out.data.length).toBe(0);
    }
  });

  it('a uint8 decode is a copy too', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const out = decodeRaw(bytes, 'uint8');
    bytes[0] = 99;
    expect(Array.from(out.data)).toEqual([1, 2, 3]);
  });

  for (const dtype of DTYPES.filter((d) => SIZES[d] > 1)) {
    const size = SIZES[dtype];
    it(`${dtype}: a length that is not a multiple of ${size} is a DecodeError mentioning the size`, () => {
      for (const length of [1, size + 1, 3 * size - 1]) {
        let err: unknown = null;
        try {
          decodeRaw(new Uint8Array(length), dtype);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(DecodeError);
        expect((err as Error).message).toContain(`multiple of ${size}`);
        expect((err as Error).message).toContain(`${length}`);
      }
    });
  }

  it.each([
    ['dtype', 'int64'],
    ['dtype', 'float16'],
    ['dtype', 'bool'],
    ['dtype', undefined],
  ])('rejects %s = %s with InvalidArgumentError', (parameter, dtype) => {
    let err: unknown = null;
    try {
      decodeRaw(new Uint8Array(8), dtype as DType);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).parameter).toBe(parameter);
    expect((err as Error).message).toMatch(new RegExp(`Expected .+ for ${parameter} but received`));
  });

  it('rejects a non-Uint8Array input and bad options with InvalidArgumentError', () => {
    const cases: [string, () => unknown][] = [
      ['bytes', () => decodeRaw([1, 2] as unknown as Uint8Array, 'uint8')],
      ['bytes', () => decodeRaw(new Uint16Array(2) as unknown as Uint8Array, 'uint8')],
      [
        'littleEndian',
        () => decodeRaw(new Uint8Array(2), 'uint16', { littleEndian: 'no' as unknown as boolean }),
      ],
      ['options', () => decodeRaw(new Uint8Array(2), 'uint16', 1 as unknown as { littleEndian?: boolean })],
    ];
    for (const [parameter, call] of cases) {
      let err: unknown = null;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err, parameter).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).parameter).toBe(parameter);
    }
  });
});
