import { map } from 'rxjs';
import { batch, shuffleBatch } from '../batch/batch.js';
import type { ErrorPolicyOptions } from '../core/error-policy.js';
import { CounterRng } from '../core/rng.js';
import type { StageStats } from '../core/stats.js';
import type { Stream } from '../core/stream.js';
import { distortedInputs } from '../datasets/cifar.js';
import { imageFolder } from '../datasets/image-folder.js';
import { mnist } from '../datasets/mnist.js';
import { randomResizedCrop } from '../image/random-resized-crop.js';
import type { Detected } from './detect.js';

export interface BenchOptions extends ErrorPolicyOptions {
  /** The path as given (a CIFAR archive is opened by it). */
  path: string;
  threads: number;
  batch: number;
  epochs: number;
  seed: number;
  /** CIFAR: hold the files in memory. */
  cache: boolean;
}

/** A bench stream; `release` hands a batch back for reuse where the pipeline can take it. */
export type BenchStream = Stream<{ key?: string[] | unknown }> & { release?: (batch: never) => void };

/**
 * The pipeline `inqueue bench` measures for a detected dataset:
 * CIFAR-10/100: cifar10_input's distorted_inputs (distortedInputs on `threads` threads, `cache`);
 * MNIST: shuffleBatch of the examples; image folder: decoded train images,
 * random-resized-cropped to 224, batched.
 */
export async function benchPipeline(d: Detected, o: BenchOptions): Promise<BenchStream> {
  if (d.format === 'cifar10' || d.format === 'cifar100') {
    return distortedInputs({
      path: d.entries ? o.path : d.dir,
      dataset: d.format,
      batchSize: o.batch,
      numEpochs: o.epochs,
      seed: o.seed,
      numThreads: o.threads,
      cache: o.cache,
    }) as Promise<never>;
  }
  if (d.format === 'mnist') {
    const examples = mnist({
      path: d.dir,
      split: 'train',
      numEpochs: o.epochs,
      onError: o.onError,
      maxErrors: o.maxErrors,
    });
    return shuffleBatch(examples, {
      batchSize: o.batch,
      capacity: 10_000 + 3 * o.batch,
      minAfterDequeue: 10_000,
      seed: o.seed,
    }) as never;
  }
  if (d.format === 'image-folder') {
    // Photos differ in size: a random resized crop to 224 (torchvision's training transform) makes
    // them batchable.
    const folder = imageFolder({
      root: d.dir,
      split: 'train',
      numEpochs: o.epochs,
      seed: o.seed,
      channels: 3,
      onError: o.onError,
      maxErrors: o.maxErrors,
    });
    const examples = folder.pipe(
      map((e, i) => ({
        key: e.key,
        label: e.label,
        image: randomResizedCrop(e.image, [224, 224], new CounterRng(o.seed, 'random_resized_crop', i)),
      })),
    );
    return batch(examples, { batchSize: o.batch, allowSmallerFinalBatch: true }) as never;
  }
  throw new Error(`inqueue bench: no pipeline for ${d.format} yet`);
}

/** Examples in a batch: its labels' count, else its keys', else the batch size asked for. */
export function samplesIn(b: unknown, batchSize: number): number {
  const x = b as { label?: { data?: ArrayLike<number> }; key?: unknown };
  if (x.label?.data) return x.label.data.length;
  return Array.isArray(x.key) ? x.key.length : batchSize;
}

/** One line of progress: batches, samples/s and each queue's fill. */
export function progressLine(batches: number, samples: number, seconds: number, stats: StageStats[]): string {
  const fill = stats
    .filter((s) => Number.isFinite(s.capacity) && s.capacity > 1)
    .map((s) => `${s.name} ${(100 * s.fractionFull).toFixed(0)}%`)
    .join(', ');
  return `${batches} batches, ${(samples / Math.max(seconds, 1e-9)).toFixed(0)} samples/s${fill ? ` | ${fill}` : ''}`;
}
