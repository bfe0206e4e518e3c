import type { ErrorPolicyOptions } from '../core/error-policy.js';
import { CounterRng } from '../core/rng.js';
import type { PipelineReport } from '../core/stats.js';
import { Stream } from '../core/stream.js';
import type { Tensor } from '../core/tensor.js';
import { imageFolder } from '../datasets/image-folder.js';
import { mnist } from '../datasets/mnist.js';
import { decodeCifarRecord } from '../decode/cifar-record.js';
import { distortCifar } from '../image/distort-cifar.js';
import { fixedLengthRecordReader } from '../readers/fixed-length-record-reader.js';
import { type Detected, fileIn, hasFile } from './detect.js';
import { readNames } from './info.js';

/** One example as the CLI shows it: the raw image, and the augmented one with `--distorted`. */
export interface ShownExample {
  key: string;
  label: number;
  image: Tensor;
  before?: Tensor;
}

export interface SampleOptions extends ErrorPolicyOptions {
  split: string;
  distorted: boolean;
  seed: number;
}

/** The examples of a detected dataset's split, in file order, with class names when known. */
export async function samplesOf(
  d: Detected,
  o: SampleOptions,
): Promise<{ examples: Stream<ShownExample>; classNames?: string[]; report: () => PipelineReport }> {
  const policy: ErrorPolicyOptions = { onError: o.onError, maxErrors: o.maxErrors };
  if (d.format === 'image-folder') {
    const split = o.split as 'train' | 'validation' | 'test';
    const stream = imageFolder({ root: d.dir, split, shuffle: false, seed: o.seed, ...policy });
    const listing = await stream.listing;
    return {
      examples: Stream.from(
        (async function* () {
          for await (const e of stream) yield { key: e.key, label: e.label, image: e.image };
        })(),
      ),
      classNames: listing.classNames,
      report: () => stream.report(),
    };
  }
  if (d.format === 'mnist') {
    const split = o.split === 'test' ? 'test' : 'train';
    const examples = mnist({ path: d.dir, split, ...policy });
    return { examples, report: () => examples.report() };
  }
  const cifar10 = d.format === 'cifar10';
  const labelBytes = cifar10 ? 1 : 2;
  const files = cifar10
    ? o.split === 'test'
      ? ['test_batch.bin']
      : [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`)
    : [o.split === 'test' ? 'test.bin' : 'train.bin'];
  const paths = files.filter((f) => hasFile(d, f)).map((f) => fileIn(d, f));
  const names = await readNames(d, cifar10 ? 'batches.meta.txt' : 'fine_label_names.txt');
  const classNames = names.length > 0 ? names : undefined;
  const distort = distortCifar({ labelBytes });
  const records = fixedLengthRecordReader(paths, { recordBytes: labelBytes + 3072, ...policy });
  let index = 0;
  const examples = Stream.from(
    (async function* () {
      for await (const r of records) {
        const { label, image } = decodeCifarRecord(r.value, { labelBytes });
        if (!o.distorted) yield { key: r.key, label, image };
        else {
          const after = distort(r.value, new CounterRng(o.seed, 'distort_cifar', index++));
          yield { key: r.key, label, image: after.image, before: image };
        }
      }
    })(),
  );
  return { examples, classNames, report: () => records.report() };
}
