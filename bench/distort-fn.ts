/** The per-example work of the distorted CIFAR bench, as a module mapParallel's workers can load. */
import type { CounterRng } from '../src/core/rng.js';
import { distortCifar } from '../src/image/distort-cifar.js';
import {
  type DistortedCifarBatch,
  distortCifarBatch,
  type RawCifarBatch,
} from '../src/image/distort-cifar-batch.js';

const distort = distortCifar();

export function distortRecord(r: { key: string; value: Uint8Array }, rng: CounterRng) {
  const { label, image } = distort(r.value, rng);
  return { key: r.key, label, image };
}

const distortBatch = distortCifarBatch({ seed: 1 });

/** A shuffled batch of raw records -> the distorted batch (one WebAssembly call). */
export function distortRawBatch(batch: RawCifarBatch): DistortedCifarBatch {
  return distortBatch(batch);
}
