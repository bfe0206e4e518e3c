import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WASM_SOURCE_SHA256 } from '../../src/wasm/distort-cifar.wasm.js';
import { distortRecordWasm } from '../../src/wasm/distort-cifar-kernel.js';

describe('distortCifar WebAssembly kernel', () => {
  it('was built from the committed C source (run scripts/build-wasm.sh after editing it)', () => {
    const source = readFileSync(new URL('../../src/wasm/distort-cifar.c', import.meta.url));
    expect(createHash('sha256').update(source).digest('hex')).toBe(WASM_SOURCE_SHA256);
  });

  it('computes the closed form: a uniform record standardizes to zeros, a two-level one to ±1', () => {
    const uniform = new Uint8Array(3073).fill(90);
    const zeros = distortRecordWasm(uniform, 1, 24, { oy: 0, ox: 0, flip: false, delta: 5, factor: 1.5 });
    expect(zeros).not.toBeNull();
    expect(Array.from(new Set(zeros!))).toEqual([0]);
    // Half the crop's columns at 0, half at 200, in every channel: standardized values are exactly ±1.
    const halves = new Uint8Array(3073);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 32; y++) for (let x = 12; x < 32; x++) halves[1 + c * 1024 + y * 32 + x] = 200;
    const out = distortRecordWasm(halves, 1, 24, { oy: 0, ox: 0, flip: false, delta: 0, factor: 1 })!;
    expect(out[0]).toBeCloseTo(-1, 6);
    expect(out[3 * 23]).toBeCloseTo(1, 6);
    const flipped = distortRecordWasm(halves, 1, 24, { oy: 0, ox: 0, flip: true, delta: 0, factor: 1 })!;
    expect(flipped[0]).toBeCloseTo(1, 6);
  });
});
