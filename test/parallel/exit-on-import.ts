/** A module that ends its worker while being imported (mapParallel must raise, not respawn forever). */
process.exit(7);

export function never(x: unknown): unknown {
  return x;
}
