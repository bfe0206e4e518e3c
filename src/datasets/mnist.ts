import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ErrorPolicy,
  type ErrorPolicyOptions,
  errorPolicyOption,
  handleElementError,
} from '../core/error-policy.js';
import { DecodeError, invalidArgument, NotFoundError, TruncatedRecordError } from '../core/errors.js';
import type { StageCounters } from '../core/stats.js';
import { Stream } from '../core/stream.js';
import type { Tensor } from '../core/tensor.js';
import { integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { fixedLengthRecordReader } from '../readers/fixed-length-record-reader.js';
import type { KeyValue } from '../readers/whole-file-reader.js';
import {
  checkIdxSize,
  checkMagic,
  IDX_UBYTE_RANK1_MAGIC,
  IDX_UBYTE_RANK3_MAGIC,
  readIdxHeader,
  u32,
} from './idx.js';

/**
 * Error policy: under `'skip'`/`'warn'` an example whose label byte is out of range is dropped and
 * counted (DecodeError, keyed `<imagesFile>:<index>`); read = yielded + skipped (under raise, the
 * example whose error ends the stream is not counted). A bad header, files that disagree with it or
 * with each other, or a file ending early leave nothing to pair images and labels by: those raise
 * under every policy.
 */
export interface MnistOptions extends ErrorPolicyOptions {
  /** Folder holding the four IDX files (plain or `.gz`). */
  path: string;
  /** `'train'` (default): `train-*-idx?-ubyte`, 60,000 examples; `'test'`: `t10k-*`, 10,000. */
  split?: 'train' | 'test';
  /** Passes over the data (default 1). */
  numEpochs?: number;
  /**
   * Must be false or unset: like TF's MNIST input, `mnist` reads in file order and leaves shuffling
   * to `shuffleBatch`. `true` raises an InvalidArgumentError saying so.
   */
  shuffle?: boolean;
  /** Not accepted (there is no randomness here): pass the seed to `shuffleBatch`. */
  seed?: number;
}

export interface MnistExample {
  /** `<imagesFile>:<index>`, index from 0 in every epoch. */
  key: string;
  /** The digit, 0 to 9. */
  label: number;
  /** uint8 `[rows, cols, 1]` (`[28, 28, 1]` for MNIST), HWC, 0 = background. */
  image: Tensor<'uint8'>;
}

const STAGE = 'mnist';
const IMAGES_HEADER = 16;
const LABELS_HEADER = 8;
const NUM_CLASSES = 10;

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

interface Resolved {
  file: string;
  gzip: boolean;
}

interface Layout {
  images: Resolved;
  labels: Resolved;
  count: number;
  rows: number;
  cols: number;
}

/**
 * The MNIST IDX files as a stream of `{ key, label, image }`: the headers are read and checked first
 * (magic numbers, equal counts, file sizes where known), then images and labels stream through two
 * `fixedLengthRecordReader`s pulled in lockstep. Files are opened on the first pull of each run;
 * `break` closes both readers.
 */
export function mnist(options: MnistOptions): Stream<MnistExample> {
  const o = objectOption(STAGE, 'options', options) as Partial<MnistOptions>;
  if (typeof o.path !== 'string' || o.path.length === 0) {
    throw invalidArgument('path', 'a folder path (a non-empty string)', o.path, STAGE);
  }
  const path = o.path;
  const split = oneOfOption(STAGE, 'split', o.split, ['train', 'test'] as const, 'train');
  const numEpochs = integerOption(STAGE, 'numEpochs', o.numEpochs, { min: 1, defaultValue: 1 });
  if (o.shuffle !== undefined && o.shuffle !== false) {
    throw invalidArgument(
      'shuffle',
      'false or unset (mnist reads in file order, as TF did; shuffle with shuffleBatch)',
      o.shuffle,
      STAGE,
    );
  }
  if (o.seed !== undefined) {
    throw invalidArgument(
      'seed',
      'unset (mnist has no randomness; pass the seed to shuffleBatch)',
      o.seed,
      STAGE,
    );
  }
  const policy = errorPolicyOption(STAGE, o);
  return new Stream<MnistExample>((counters) => run(path, split, numEpochs, policy, counters), {
    name: 'mnist',
  });
}

async function* run(
  path: string,
  split: 'train' | 'test',
  numEpochs: number,
  policy: ErrorPolicy,
  counters: StageCounters,
): AsyncGenerator<MnistExample> {
  try {
    counters.start();
    const layout = await openLayout(path, split);
    for (let epoch = 0; epoch < numEpochs; epoch++) yield* epochOf(layout, policy, counters);
  } finally {
    counters.done = true;
  }
}

/** Finds the files, reads both headers and checks them against each other and the file sizes. */
async function openLayout(path: string, split: 'train' | 'test'): Promise<Layout> {
  const names = FILES[split];
  const [images, labels] = await Promise.all([resolve(path, names.images), resolve(path, names.labels)]);
  const missing = [names.images, names.labels].filter((_, i) => [images, labels][i] === null);
  if (images === null || labels === null) {
    const tried = missing.map((n) => `${n} or ${n}.gz`).join(', and ');
    throw new NotFoundError(
      `${STAGE}: Expected the ${split} split's IDX files in ${JSON.stringify(path)} but found no ${tried}`,
      { file: join(path, missing[0]), stage: STAGE, parameter: 'path' },
    );
  }
  const ih = await readIdxHeader(images.file, IMAGES_HEADER, images.gzip, STAGE);
  checkMagic(images.file, ih.bytes, IDX_UBYTE_RANK3_MAGIC, 'unsigned bytes, 3 dimensions', STAGE);
  const lh = await readIdxHeader(labels.file, LABELS_HEADER, labels.gzip, STAGE);
  checkMagic(labels.file, lh.bytes, IDX_UBYTE_RANK1_MAGIC, 'unsigned bytes, 1 dimension', STAGE);
  const count = u32(ih.bytes, 4);
  const rows = u32(ih.bytes, 8);
  const cols = u32(ih.bytes, 12);
  const labelCount = u32(lh.bytes, 4);
  if (rows === 0 || cols === 0) {
    throw new DecodeError(
      `${STAGE}: Expected positive image dimensions in ${JSON.stringify(images.file)} but the header says ${rows}x${cols}`,
      { file: images.file, offset: rows === 0 ? 8 : 12, stage: STAGE, parameter: 'path' },
    );
  }
  if (count !== labelCount) {
    throw new DecodeError(
      `${STAGE}: Expected as many labels as images but ${JSON.stringify(images.file)} holds ${count} images ` +
        `and ${JSON.stringify(labels.file)} holds ${labelCount} labels`,
      { file: images.file, offset: 4, stage: STAGE, parameter: 'path' },
    );
  }
  checkIdxSize(images.file, ih, IMAGES_HEADER, count, rows * cols, STAGE);
  checkIdxSize(labels.file, lh, LABELS_HEADER, count, 1, STAGE);
  return { images, labels, count, rows, cols };
}

/** `<path>/<name>` if it is a file, else `<path>/<name>.gz`, else null. */
async function resolve(path: string, name: string): Promise<Resolved | null> {
  for (const [file, gzip] of [
    [join(path, name), false],
    [join(path, `${name}.gz`), true],
  ] as const) {
    try {
      if ((await stat(file)).isFile()) return { file, gzip };
    } catch {
      // Not there (or not readable): try the next name; the error lists both.
    }
  }
  return null;
}

/** One pass: both readers pulled in lockstep, closed on completion, error or break. */
async function* epochOf(
  layout: Layout,
  policy: ErrorPolicy,
  counters: StageCounters,
): AsyncGenerator<MnistExample> {
  const { images, labels, count, rows, cols } = layout;
  const imageBytes = rows * cols;
  // Images are copied out of the read chunk (784 bytes each) so a shuffle buffer keeping some of
  // them does not keep whole chunks alive.
  const imageIt = fixedLengthRecordReader([images.file], {
    recordBytes: imageBytes,
    headerBytes: IMAGES_HEADER,
    encoding: images.gzip ? 'gzip' : undefined,
    copy: true,
  })[Symbol.asyncIterator]();
  const labelIt = fixedLengthRecordReader([labels.file], {
    recordBytes: 1,
    headerBytes: LABELS_HEADER,
    encoding: labels.gzip ? 'gzip' : undefined,
  })[Symbol.asyncIterator]();
  const shape = [rows, cols, 1] as const;
  try {
    for (let index = 0; ; index++) {
      counters.start();
      const [ri, rl] = await Promise.allSettled([imageIt.next(), labelIt.next()]);
      if (ri.status === 'rejected') throw ri.reason;
      if (rl.status === 'rejected') throw rl.reason;
      const image = ri.value;
      const label = rl.value;
      if (image.done && label.done) {
        if (index < count) throw endedEarly(images.file, IMAGES_HEADER, count, imageBytes, index);
        return;
      }
      if (index >= count) {
        const file = image.done ? labels.file : images.file;
        throw new DecodeError(
          `${STAGE}: Expected ${count} records in ${JSON.stringify(file)} (its header's count) but it holds more`,
          {
            file,
            offset: image.done ? LABELS_HEADER + count : IMAGES_HEADER + count * imageBytes,
            stage: STAGE,
          },
        );
      }
      if (image.done) throw endedEarly(images.file, IMAGES_HEADER, count, imageBytes, index);
      if (label.done) throw endedEarly(labels.file, LABELS_HEADER, count, 1, index);
      const key = `${images.file}:${index}`;
      const digit = (label.value as KeyValue).value[0];
      if (digit >= NUM_CLASSES) {
        const err = new DecodeError(
          `${STAGE}: Expected a label in [0, ${NUM_CLASSES - 1}] for ${key} but ${JSON.stringify(labels.file)} ` +
            `has ${digit} at byte offset ${LABELS_HEADER + index}`,
          { file: labels.file, offset: LABELS_HEADER + index, key, stage: STAGE },
        );
        handleElementError(policy, counters, err, key, STAGE);
        continue;
      }
      counters.read++;
      counters.elementsIn++;
      counters.elementsOut++;
      yield { key, label: digit, image: { dtype: 'uint8', shape, data: (image.value as KeyValue).value } };
    }
  } finally {
    await Promise.allSettled([imageIt.return?.(), labelIt.return?.()]);
  }
}

/** A (gzipped) file whose records stop, on a record boundary, before its header's count. */
function endedEarly(
  file: string,
  header: number,
  count: number,
  recordBytes: number,
  index: number,
): TruncatedRecordError {
  return new TruncatedRecordError(
    `${STAGE}: Expected ${count} records in ${JSON.stringify(file)} (its header's count) but the file ends ` +
      `after ${index}, at byte offset ${header + index * recordBytes} of the decompressed data`,
    { file, offset: header + index * recordBytes, key: `${file}:${index}`, stage: STAGE },
  );
}
