import { debuglog } from 'node:util';
import { invalidArgument } from './errors.js';

/**
 * Counter-based random numbers (Philox4x32-10, Salmon et al. 2011, the generator TensorFlow uses).
 *
 * A counter-based generator maps (key, counter) to random bits with no hidden state, so every draw can
 * be addressed directly by (seed, op, epoch, element index). That is what makes pipelines reproducible
 * whatever the thread count or timing: a draw never depends on how many draws happened before it on
 * another thread. Bit streams are *not* TensorFlow's (its graph/op seed plumbing is not reproduced);
 * distributions and draw granularity are.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (Math.imul gives only the low half). */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const mid1 = aHi * bLo + (lolo >>> 16);
  const mid2 = aLo * bHi + (mid1 & 0xffff);
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16)) >>> 0;
}

/** Philox4x32-10 block function. Writes four uint32 words into `out`. */
export function philox4x32(
  k0: number,
  k1: number,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  out: Uint32Array,
): void {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Mixes a string into 32 bits (FNV-1a); used to give every op its own stream id. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const log = debuglog('inqueue');

/**
 * A seed for when the user gives none: random, exposed by the stage as `.seed` and logged when
 * NODE_DEBUG=inqueue, so a run can be repeated.
 */
export function randomSeed(stage = 'inqueue'): number {
  const seed = (Math.random() * 0x100000000) >>> 0;
  log('%s: no seed given, using random seed %d', stage, seed);
  return seed;
}

/**
 * A stream of draws addressed by (seed, op, a, b): for example op = 'shuffle_batch', a = epoch,
 * b = element index. Draws within the stream advance an internal block counter.
 */
export class CounterRng {
  private readonly k0: number;
  private readonly k1: number;
  private readonly opId: number;
  private readonly a: number;
  private readonly b: number;
  private block = 0;
  private readonly buf = new Uint32Array(4);
  private used = 4;

  constructor(seed: number, op: string, a = 0, b = 0) {
    this.k0 = seed >>> 0;
    this.k1 = Math.floor(seed / 0x100000000) >>> 0;
    this.opId = hashString(op);
    this.a = a >>> 0;
    this.b = b >>> 0;
  }

  /** uint32s drawn so far; with `seek`, the generator's whole state (what checkpoints store). */
  get drawn(): number {
    return this.block * 4 - (4 - this.used);
  }

  /** Puts the generator where it was after `drawn` uint32s, as if they had been drawn. */
  seek(drawn: number): this {
    if (!Number.isSafeInteger(drawn) || drawn < 0)
      throw invalidArgument('drawn', 'a non-negative safe integer', drawn, 'CounterRng.seek');
    const block = Math.floor(drawn / 4);
    const within = drawn % 4;
    if (within === 0) {
      this.block = block;
      this.used = 4;
    } else {
      philox4x32(this.k0, this.k1, block >>> 0, this.opId, this.a, this.b, this.buf);
      this.block = block + 1;
      this.used = within;
    }
    return this;
  }

  /** A uniform uint32. */
  nextUint32(): number {
    if (this.used === 4) {
      philox4x32(this.k0, this.k1, this.block >>> 0, this.opId, this.a, this.b, this.buf);
      this.block++;
      this.used = 0;
    }
    return this.buf[this.used++];
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform float32 in [0, 1), as TF's random_uniform draws it (23 mantissa bits). */
  uniformFloat32(): number {
    return (this.nextUint32() >>> 9) / 8388608;
  }

  /** A uniform integer in [0, n), unbiased (rejection sampling), n <= 2^32. */
  below(n: number): number {
    if (n <= 1) return 0;
    if (n > 0x100000000) throw invalidArgument('n', 'an integer <= 2^32', n, 'CounterRng.below');
    const limit = 0x100000000 - (0x100000000 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }
}

/** Fisher-Yates permutation of [0, n) drawn from `rng`. */
export function permutation(n: number, rng: CounterRng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
