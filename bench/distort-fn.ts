/** The per-example work of the distorted CIFAR bench, as a module mapParallel's workers can load. */
import type { CounterRng } from '../src/core/rng.js';
import { distortCifar } from '../src/image/distort-cifar.js';

const distort = distortCifar();

export function distortRecord(r: { key: string; value: Uint8Array }, rng: CounterRng) {
  const { label, image } = distort(r.value, rng);
  return { key: r.key, label, image };
}
