/** Per-example functions loaded by mapParallel's workers in the tests (module form). */
import type { CounterRng } from '../../src/core/rng.js';
import { distortCifar } from '../../src/image/distort-cifar.js';

export function double(x: { key: string; v: number }): { key: string; v: number } {
  return { key: x.key, v: x.v * 2 };
}

export function withDraw(x: { key: string; v: number }, rng: CounterRng, index: number) {
  return { key: x.key, v: x.v, draw: rng.nextUint32(), index };
}

export function failOnSeven(x: { key: string; v: number }) {
  if (x.v === 7) throw new RangeError(`cannot handle ${x.v}`);
  return x;
}

/** Kills its worker the first time it sees v = 3 (a marker file makes the retry succeed). */
export async function exitOnceOnThree(x: { key: string; v: number; marker: string }) {
  const fs = await import('node:fs');
  if (x.v === 3 && !fs.existsSync(x.marker)) {
    fs.writeFileSync(x.marker, 'died once');
    process.exit(3);
  }
  return { key: x.key, v: x.v };
}

export function alwaysExitOnFive(x: { key: string; v: number }) {
  if (x.v === 5) process.exit(5);
  return x;
}

const distort = distortCifar();
export function distortRecord(x: { key: string; value: Uint8Array }, rng: CounterRng) {
  const { label, image } = distort(x.value, rng);
  return { key: x.key, label, image };
}

export function scaleImage(x: { key: string; image: { dtype: 'uint8'; shape: number[]; data: Uint8Array } }) {
  const data = new Float32Array(x.image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = x.image.data[i] / 255;
  return { key: x.key, image: { dtype: 'float32' as const, shape: x.image.shape, data } };
}
