import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterRng, InvalidArgumentError, permutation, philox4x32 } from '../../src/index.js';

/** Chi-square statistic of observed counts against equal expected counts. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

/** Upper critical values of chi-square at p = 1e-6 (scipy.stats.chi2.isf(1e-6, df)). */
const CHI2_P1E6 = { 5: 35.89, 6: 38.26, 9: 44.81 } as const;

const hex = (words: ArrayLike<number>) => Array.from(words, (w) => `0x${w.toString(16).padStart(8, '0')}`);

function philox(k0: number, k1: number, c: readonly [number, number, number, number]): string[] {
  const out = new Uint32Array(4);
  philox4x32(k0, k1, c[0], c[1], c[2], c[3], out);
  return hex(out);
}

/** Independent Philox4x32-10 in BigInt arithmetic (Random123's philox4x32_R with R = 10). */
function philoxBigInt(k0: number, k1: number, c0: number, c1: number, c2: number, c3: number): string[] {
  const mask = 0xffffffffn;
  const M0 = 0xd2511f53n;
  const M1 = 0xcd9e8d57n;
  let key = [BigInt(k0), BigInt(k1)];
  let ctr = [BigInt(c0), BigInt(c1), BigInt(c2), BigInt(c3)];
  for (let round = 0; round < 10; round++) {
    if (round > 0) key = [(key[0] + 0x9e3779b9n) & mask, (key[1] + 0xbb67ae85n) & mask];
    const p0 = M0 * ctr[0];
    const p1 = M1 * ctr[2];
    ctr = [(p1 >> 32n) ^ ctr[1] ^ key[0], p1 & mask, (p0 >> 32n) ^ ctr[3] ^ key[1], p0 & mask];
  }
  return hex(ctr.map(Number));
}

function draws(rng: CounterRng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextUint32());
}

describe('philox4x32 (Philox4x32-10)', () => {
  it('matches Random123 known-answer vector: zero counter, zero key', () => {
    expect(philox(0, 0, [0, 0, 0, 0])).toEqual(['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']);
  });

  it('matches Random123 known-answer vector: all-ones counter and key', () => {
    const ones = 0xffffffff;
    expect(philox(ones, ones, [ones, ones, ones, ones])).toEqual([
      '0x408f276d',
      '0x41c83b0e',
      '0xa20bc7c6',
      '0x6d5451fd',
    ]);
  });

  it('matches Random123 known-answer vector: pi digits counter and key', () => {
    expect(philox(0xa4093822, 0x299f31d0, [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344])).toEqual([
      '0xd16cfe09',
      '0x94fdcceb',
      '0x5001e420',
      '0x24126ea1',
    ]);
  });

  it('agrees with a BigInt reference implementation on random keys and counters', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const edge = fc.constantFrom(0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff);
    const word = fc.oneof(u32, edge);
    fc.assert(
      fc.property(word, word, word, word, word, word, (k0, k1, c0, c1, c2, c3) => {
        const out = new Uint32Array(4);
        philox4x32(k0, k1, c0, c1, c2, c3, out);
        expect(hex(out)).toEqual(philoxBigInt(k0, k1, c0, c1, c2, c3));
      }),
      { numRuns: 500 },
    );
  });

  it('writes only uint32 words and does not depend on previous contents of out', () => {
    const a = new Uint32Array([1, 2, 3, 4]);
    const b = new Uint32Array([0xffffffff, 0, 0xffffffff, 0]);
    philox4x32(5, 6, 7, 8, 9, 10, a);
    philox4x32(5, 6, 7, 8, 9, 10, b);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('CounterRng', () => {
  it('is deterministic for the same (seed, op, a, b)', () => {
    expect(draws(new CounterRng(1234, 'shuffle_batch', 3, 17), 64)).toEqual(
      draws(new CounterRng(1234, 'shuffle_batch', 3, 17), 64),
    );
    expect(new CounterRng(99, 'op').uniform()).toBe(new CounterRng(99, 'op').uniform());
  });

  it('produces a new block after every four words (the stream does not repeat)', () => {
    const xs = draws(new CounterRng(7, 'op'), 16);
    expect(new Set(xs).size).toBe(16);
  });

  it('gives independent streams for different seeds, op names, a and b', () => {
    const base = draws(new CounterRng(42, 'random_crop', 1, 2), 8);
    const variants = [
      new CounterRng(43, 'random_crop', 1, 2),
      new CounterRng(42 + 0x100000000, 'random_crop', 1, 2), // high seed word feeds the key
      new CounterRng(42, 'random_flip', 1, 2),
      new CounterRng(42, 'random_crop', 2, 2),
      new CounterRng(42, 'random_crop', 1, 3),
      new CounterRng(42, 'random_crop', 2, 1),
    ].map((rng) => draws(rng, 8));
    for (const v of variants) {
      expect(v).not.toEqual(base);
      // Not just a shifted copy: no word in common (chance of any collision is ~1e-8).
      expect(v.filter((x) => base.includes(x))).toEqual([]);
    }
    const all = [base, ...variants].map((v) => v.join(','));
    expect(new Set(all).size).toBe(all.length);
  });

  it('below(n) is always in [0, n)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 0x100000000 }),
        (seed, n) => {
          const rng = new CounterRng(seed, 'below');
          for (let i = 0; i < 20; i++) {
            const x = rng.below(n);
            expect(Number.isInteger(x)).toBe(true);
            expect(x).toBeGreaterThanOrEqual(0);
            expect(x).toBeLessThan(n);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('below(1) is 0', () => {
    const rng = new CounterRng(5, 'one');
    for (let i = 0; i < 100; i++) expect(rng.below(1)).toBe(0);
  });

  it('below(n) is roughly uniform (chi-square, n = 7)', () => {
    const rng = new CounterRng(2024, 'below_chi2');
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[rng.below(7)]++;
    expect(chiSquare(counts)).toBeLessThan(CHI2_P1E6[6]);
  });

  it('below(n) is unbiased for large n that does not divide 2^32 (rejection sampling)', () => {
    // n = 3 * 2^30: plain `x % n` would put half of all draws below 2^30 instead of a third.
    const n = 3 * 2 ** 30;
    const rng = new CounterRng(77, 'below_bias');
    const trials = 60_000;
    let low = 0;
    for (let i = 0; i < trials; i++) if (rng.below(n) < 2 ** 30) low++;
    // sd of the fraction is ~0.0019; 0.02 is > 10 sd from 1/3 and far from 1/2.
    expect(Math.abs(low / trials - 1 / 3)).toBeLessThan(0.02);
  });

  it('below(n) rejects n above 2^32', () => {
    expect(() => new CounterRng(1, 'x').below(0x100000001)).toThrow(InvalidArgumentError);
    expect(() => new CounterRng(1, 'x').below(0x100000001)).toThrow(
      /Expected an integer <= 2\^32 for n but received 4294967297/,
    );
  });

  it('uniform() is in [0, 1) with mean about 0.5 and variance about 1/12', () => {
    const rng = new CounterRng(31337, 'uniform');
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    let min = 1;
    let max = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      sumSq += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // sd of the mean ~0.0009
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(0.005);
    expect(min).toBeLessThan(0.001);
    expect(max).toBeGreaterThan(0.999);
  });

  it('uniform() is in [0, 1) for any seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.string(), (seed, op) => {
        const rng = new CounterRng(seed, op);
        for (let i = 0; i < 8; i++) {
          const u = rng.uniform();
          expect(u).toBeGreaterThanOrEqual(0);
          expect(u).toBeLessThan(1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('uniformFloat32() is a float32 in [0, 1)', () => {
    const rng = new CounterRng(8, 'f32');
    let bad = 0;
    for (let i = 0; i < 10_000; i++) {
      const u = rng.uniformFloat32();
      if (!(u >= 0 && u < 1) || Math.fround(u) !== u) bad++;
    }
    expect(bad).toBe(0);
  });
});

describe('permutation', () => {
  it('is a permutation of [0, n)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.nat(1000),
        (n, seed, epoch) => {
          const p = permutation(n, new CounterRng(seed, 'permutation', epoch));
          expect(p).toBeInstanceOf(Uint32Array);
          expect(p.length).toBe(n);
          expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic for the same stream and differs across epochs', () => {
    const a = Array.from(permutation(50, new CounterRng(3, 'perm', 0)));
    expect(Array.from(permutation(50, new CounterRng(3, 'perm', 0)))).toEqual(a);
    expect(Array.from(permutation(50, new CounterRng(3, 'perm', 1)))).not.toEqual(a);
  });

  it('draws all 6 permutations of 3 with about equal frequency', () => {
    const counts = new Map<string, number>();
    const trials = 60_000;
    for (let epoch = 0; epoch < trials; epoch++) {
      const key = Array.from(permutation(3, new CounterRng(11, 'perm3', epoch))).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['012', '021', '102', '120', '201', '210']);
    expect(chiSquare([...counts.values()])).toBeLessThan(CHI2_P1E6[5]);
    for (const c of counts.values()) expect(Math.abs(c - trials / 6)).toBeLessThan(0.1 * (trials / 6));
  });

  it('puts each element at each position uniformly (n = 10)', () => {
    const trials = 20_000;
    const positions = new Array(10).fill(0);
    const rng = new CounterRng(5, 'perm10');
    for (let i = 0; i < trials; i++) positions[permutation(10, rng).indexOf(0)]++;
    expect(chiSquare(positions)).toBeLessThan(CHI2_P1E6[9]);
  });
});

describe('CounterRng.seek / drawn', () => {
  it('continues exactly where a generator that drew `drawn` values stands', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 64 }), fc.nat({ max: 16 }), (seed, skip, more) => {
        const a = new CounterRng(seed, 'op', 3);
        for (let i = 0; i < skip; i++) a.nextUint32();
        expect(a.drawn).toBe(skip);
        const b = new CounterRng(seed, 'op', 3).seek(skip);
        expect(b.drawn).toBe(skip);
        for (let i = 0; i < more; i++) expect(b.nextUint32()).toBe(a.nextUint32());
      }),
    );
  });

  it('counts the extra draws of rejection sampling and doubles', () => {
    const r = new CounterRng(1, 'op');
    r.uniform();
    expect(r.drawn).toBe(2);
    r.uniformFloat32();
    expect(r.drawn).toBe(3);
  });

  it('rejects a negative or fractional position', () => {
    for (const bad of [-1, 0.5, Number.NaN, 2 ** 60]) {
      expect(() => new CounterRng(1, 'op').seek(bad)).toThrow(InvalidArgumentError);
    }
  });
});
