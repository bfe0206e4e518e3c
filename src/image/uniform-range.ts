import type { Random } from './image.js';

/**
 * One draw from `[lo, hi)` as TF's `random_uniform(minval, maxval)` computes it: `u · (hi − lo) + lo`
 * with `u = rng.uniformFloat32()`, every step rounded to float32 (the bounds too). One draw per call.
 */
export function uniformRange(lo: number, hi: number, rng: Random): number {
  const f = Math.fround;
  const low = f(lo);
  return f(f(f(f(hi) - low) * rng.uniformFloat32()) + low);
}
