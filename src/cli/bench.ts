import { statSync } from 'node:fs';
import { join } from 'node:path';
import { map } from 'rxjs';
import { batch, shuffleBatch } from '../batch/batch.js';
import type { ErrorPolicyOptions } from '../core/error-policy.js';
import { InputError } from '../core/errors.js';
import { CounterRng } from '../core/rng.js';
import type { StageStats } from '../core/stats.js';
import type { Stream } from '../core/stream.js';
import { imageFolder } from '../datasets/image-folder.js';
import { mnist } from '../datasets/mnist.js';
import { randomResizedCrop } from '../image/random-resized-crop.js';
import { shardedPipeline } from '../parallel/sharded-pipeline.js';
import type { Detected } from './detect.js';

export interface BenchOptions extends ErrorPolicyOptions {
  threads: number;
  batch: number;
  epochs: number;
  seed: number;
}

/**
 * The pipeline `inqueue bench` measures for a detected dataset:
 * CIFAR: cifar10_input's distorted_inputs (raw records shuffled, batches distorted), on `threads`
 * shards (one per worker; 1 runs inline); MNIST: shuffleBatch of the examples; image folder:
 * decoded train images, random-resized-cropped to 224, batched.
 */
export function benchPipeline(d: Detected, o: BenchOptions): Stream<{ key: string[] | unknown }> {
  if (d.format === 'cifar10') {
    if (d.entries)
      throw new InputError('inqueue bench: extract the CIFAR archive first (shards read file blocks)');
    const files = [1, 2, 3, 4, 5].map((i) => join(d.dir, `data_batch_${i}.bin`));
    const recordsPerFile = Math.floor(statSync(files[0]).size / 3073);
    const shards = Math.max(1, o.threads);
    const perEpoch = recordsPerFile * files.length;
    return shardedPipeline(
      {
        module: new URL(
          import.meta.url.endsWith('.ts') ? './cifar-shard.ts' : './cifar-shard.js',
          import.meta.url,
        ),
        export: 'cifarShard',
      },
      {
        // Blocks must divide each file: fall back to one shard when they do not.
        numShards: recordsPerFile % shards === 0 ? shards : 1,
        numThreads: o.threads > 1 ? o.threads : 0,
        transferResults: true,
        args: {
          dir: d.dir,
          epochs: o.epochs,
          seed: o.seed,
          batchSize: o.batch,
          minAfterDequeue: Math.floor(perEpoch * 0.4),
          recordsPerFile,
        },
      },
    );
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

/** One line of progress: batches, samples/s and each queue's fill. */
export function progressLine(batches: number, samples: number, seconds: number, stats: StageStats[]): string {
  const fill = stats
    .filter((s) => Number.isFinite(s.capacity) && s.capacity > 1)
    .map((s) => `${s.name} ${(100 * s.fractionFull).toFixed(0)}%`)
    .join(', ');
  return `${batches} batches, ${(samples / Math.max(seconds, 1e-9)).toFixed(0)} samples/s${fill ? ` | ${fill}` : ''}`;
}
