import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import fg from 'fast-glob';
import { type ErrorPolicyOptions, errorPolicyOption, handleElementError } from '../core/error-policy.js';
import {
  InputError,
  type InputErrorContext,
  invalidArgument,
  NotFoundError,
  TooManyErrorsError,
} from '../core/errors.js';
import { randomSeed } from '../core/rng.js';
import { type SeededStream, Stream } from '../core/stream.js';
import type { Tensor } from '../core/tensor.js';
import { booleanOption, integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { decodeImage } from '../decode/decode-image.js';
import { stringInputProducer } from '../producers/string-input-producer.js';
import { readWholeFile } from '../readers/whole-file-reader.js';

/** The three splits of retrain.py. */
export type ImageFolderSplit = 'train' | 'validation' | 'test';

export const IMAGE_FOLDER_SPLITS: readonly ImageFolderSplit[] = ['train', 'validation', 'test'];

export interface ImageFolderListOptions {
  /** The folder whose immediate sub-folders are the classes (flower_photos/daisy/*.jpg ...). */
  root: string;
  /** File extensions counted as images, matched case-insensitively (default jpg, jpeg, png). */
  extensions?: readonly string[];
  /** Percent of the files in the validation split (default 10). */
  validationPercentage?: number;
  /** Percent of the files in the test split (default 10). */
  testPercentage?: number;
}

export interface ImageFolderFile {
  /** `path.join(root, className, fileName)`. */
  path: string;
  /** Index of `className` in the sorted class names. */
  label: number;
  className: string;
  split: ImageFolderSplit;
}

export interface ImageFolderSplitCounts {
  total: number;
  /** Files of this split per label. */
  perClass: number[];
}

export interface ImageFolderListing {
  /** Immediate sub-folders of root, sorted (label = index); empty ones included. */
  classNames: string[];
  /** Every image file, sorted by path. */
  files: ImageFolderFile[];
  counts: Record<ImageFolderSplit, ImageFolderSplitCounts>;
  /** Class folders holding no image file (they keep their label and count 0). */
  emptyClasses: string[];
  /** Paths of files in class folders whose extension is not an image extension. */
  ignored: string[];
}

/**
 * Error policy: under `'skip'`/`'warn'` a file that cannot be read (deleted since listing,
 * unreadable: NotFoundError) or decoded (empty, truncated, not an image despite its extension:
 * DecodeError, naming the file and stage `imageFolder`) is skipped and counted under its error's
 * class name with its path as key; read = yielded + skipped (under raise, the file whose error ends
 * the stream is not counted). With `numEpochs: null`, two epochs' worth of files failing in a row
 * raise TooManyErrorsError instead of spinning forever. Listing errors (no root, no classes, an
 * empty split) raise under every policy.
 */
export interface ImageFolderOptions extends ImageFolderListOptions, ErrorPolicyOptions {
  /** Which split to stream (default 'train'). */
  split?: ImageFolderSplit;
  /** Decode to `image` (default true); false gives the file bytes as `value`. */
  decode?: boolean;
  /** decodeImage's channels (default 3). */
  channels?: 0 | 1 | 3 | 4;
  /** Epochs (default 1); null streams forever. */
  numEpochs?: number | null;
  /** Reshuffle the files every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the per-epoch permutations; random when unset (see the stream's `seed`). */
  seed?: number;
}

export interface ImageFolderRecord {
  key: string;
  label: number;
  className: string;
  value: Uint8Array;
}

export interface ImageFolderExample {
  key: string;
  label: number;
  className: string;
  image: Tensor<'uint8'>;
}

/** The stream with its seed and the (lazily computed, memoized) listing it draws its files from. */
export type ImageFolderStream<T> = SeededStream<T> & { readonly listing: Promise<ImageFolderListing> };

const LIST_STAGE = 'listImageFolder';
const STAGE = 'imageFolder';

/** retrain.py's MAX_NUM_IMAGES_PER_CLASS (2^27 - 1). */
const MAX_NUM_IMAGES_PER_CLASS = 2 ** 27 - 1;

/**
 * retrain.py's stable percentage bucket of a file name, in [0, 100]: the base name with any
 * `_nohash_...` suffix removed, sha1, modulo 2^27, scaled by 100 / (2^27 - 1). It depends on the
 * name only, so a file keeps its split whatever else is added to or removed from the folder.
 */
export function imageFolderPercentage(fileName: string): number {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const hashName = base.replace(/_nohash_.*$/, '');
  const hex = createHash('sha1').update(hashName, 'utf8').digest('hex');
  const bucket = Number(BigInt(`0x${hex}`) % BigInt(MAX_NUM_IMAGES_PER_CLASS + 1));
  return bucket * (100 / MAX_NUM_IMAGES_PER_CLASS);
}

/** The split retrain.py's `which_set` gives a file name. */
export function imageFolderSplit(
  fileName: string,
  options: { validationPercentage?: number; testPercentage?: number } = {},
): ImageFolderSplit {
  const { validationPercentage, testPercentage } = percentages(LIST_STAGE, options);
  const p = imageFolderPercentage(fileName);
  if (p < validationPercentage) return 'validation';
  if (p < validationPercentage + testPercentage) return 'test';
  return 'train';
}

function percentages(
  stage: string,
  opts: { validationPercentage?: unknown; testPercentage?: unknown },
): { validationPercentage: number; testPercentage: number } {
  const check = (name: string, value: unknown): number => {
    if (value === undefined) return 10;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
      throw invalidArgument(name, 'a number in [0, 100]', value, stage);
    }
    return value;
  };
  const validationPercentage = check('validationPercentage', opts.validationPercentage);
  const testPercentage = check('testPercentage', opts.testPercentage);
  if (validationPercentage + testPercentage > 100) {
    throw invalidArgument(
      'validationPercentage + testPercentage',
      'a sum of at most 100',
      validationPercentage + testPercentage,
      stage,
    );
  }
  return { validationPercentage, testPercentage };
}

interface ListConfig {
  root: string;
  extensions: Set<string>;
  validationPercentage: number;
  testPercentage: number;
}

function listConfig(stage: string, options: unknown): ListConfig {
  if (options === undefined) throw invalidArgument('options', 'an options object with root', options, stage);
  const opts = objectOption(stage, 'options', options) as Partial<ImageFolderListOptions>;
  if (typeof opts.root !== 'string' || opts.root.length === 0) {
    throw invalidArgument('root', 'a non-empty path string', opts.root, stage);
  }
  const exts = opts.extensions ?? ['jpg', 'jpeg', 'png'];
  if (!Array.isArray(exts) || exts.length === 0) {
    throw invalidArgument('extensions', 'a non-empty array of extensions', exts, stage);
  }
  const extensions = new Set<string>();
  exts.forEach((e, i) => {
    if (typeof e !== 'string' || e.replace(/^\./, '').length === 0) {
      throw invalidArgument(`extensions[${i}]`, 'a non-empty extension string', e, stage);
    }
    extensions.add(e.replace(/^\./, '').toLowerCase());
  });
  return { root: opts.root, extensions, ...percentages(stage, opts) };
}

/**
 * Lists an image folder (retrain.py's `create_image_lists`): classes are the immediate sub-folders
 * of root, sorted; each class's files are those directly inside its folder (fast-glob, no dot
 * files, not recursive), sorted; image files (extension in `extensions`, any case) get a stable
 * hash-based split, other files are reported in `ignored`.
 */
export async function listImageFolder(options: ImageFolderListOptions): Promise<ImageFolderListing> {
  return list(listConfig(LIST_STAGE, options), LIST_STAGE);
}

async function list(config: ListConfig, stage: string): Promise<ImageFolderListing> {
  const { root } = config;
  let isDir: boolean;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch (err) {
    throw new NotFoundError(
      `${stage}: Expected an existing folder for root but received ${JSON.stringify(root)}: ${
        (err as NodeJS.ErrnoException)?.code === 'ENOENT' ? 'no such folder' : String(err)
      }`,
      { file: root, stage, parameter: 'root', cause: err },
    );
  }
  if (!isDir) {
    throw new NotFoundError(
      `${stage}: Expected an existing folder for root but received ${JSON.stringify(root)}: a file, not a folder`,
      { file: root, stage, parameter: 'root' },
    );
  }
  const classNames = (await fg('*', { cwd: root, onlyDirectories: true, deep: 1 })).sort();
  if (classNames.length === 0) {
    throw new NotFoundError(
      `${stage}: Expected class sub-folders in root but received ${JSON.stringify(root)}: it has none`,
      { file: root, stage, parameter: 'root' },
    );
  }
  const files: ImageFolderFile[] = [];
  const ignored: string[] = [];
  const emptyClasses: string[] = [];
  const counts = Object.fromEntries(
    IMAGE_FOLDER_SPLITS.map((s) => [s, { total: 0, perClass: classNames.map(() => 0) }]),
  ) as Record<ImageFolderSplit, ImageFolderSplitCounts>;
  for (let label = 0; label < classNames.length; label++) {
    const className = classNames[label];
    // readdir, not a glob of files only: a dangling or looping symlink named like an image must be
    // listed (its read then fails, raised or counted) rather than vanish from the listing.
    const entries = (await readdir(join(root, className), { withFileTypes: true }))
      .filter((e) => !e.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let images = 0;
    for (const entry of entries) {
      const name = entry.name;
      const path = join(root, className, name);
      const candidate = entry.isFile() || entry.isSymbolicLink();
      if (!candidate || !config.extensions.has(extname(name).slice(1).toLowerCase())) {
        ignored.push(path);
        continue;
      }
      const p = imageFolderPercentage(name);
      const split: ImageFolderSplit =
        p < config.validationPercentage
          ? 'validation'
          : p < config.validationPercentage + config.testPercentage
            ? 'test'
            : 'train';
      files.push({ path, label, className, split });
      counts[split].total++;
      counts[split].perClass[label]++;
      images++;
    }
    if (images === 0) emptyClasses.push(className);
  }
  return { classNames, files, counts, emptyClasses, ignored };
}

/**
 * An image-folder dataset (retrain.py's layout) as a stream: the files of one split go through
 * `stringInputProducer` (numEpochs, shuffle, seed) and `wholeFileReader`, then `decodeImage`.
 * Options are checked at once; the folder is listed on first use (the first pull or `listing`),
 * once, so listing errors (missing root, no classes, an empty split) reject the first pull.
 */
export function imageFolder(
  options: ImageFolderOptions & { decode: false },
): ImageFolderStream<ImageFolderRecord>;
export function imageFolder(
  options: ImageFolderOptions & { decode?: true; channels?: 0 | 1 | 3 | 4 },
): ImageFolderStream<ImageFolderExample>;
export function imageFolder(
  options: ImageFolderOptions,
): ImageFolderStream<ImageFolderExample | ImageFolderRecord>;
export function imageFolder(
  options: ImageFolderOptions,
): ImageFolderStream<ImageFolderExample | ImageFolderRecord> {
  const config = listConfig(STAGE, options);
  const opts = options as ImageFolderOptions;
  const split = oneOfOption(STAGE, 'split', opts.split, IMAGE_FOLDER_SPLITS, 'train');
  const decode = booleanOption(STAGE, 'decode', opts.decode, true);
  const channels = opts.channels ?? 3;
  if (![0, 1, 3, 4].includes(channels))
    throw invalidArgument('channels', 'one of 0, 1, 3, 4', channels, STAGE);
  const numEpochs =
    opts.numEpochs === null
      ? undefined
      : integerOption(STAGE, 'numEpochs', opts.numEpochs, { min: 1, defaultValue: 1 });
  const shuffle = booleanOption(STAGE, 'shuffle', opts.shuffle, true);
  const seed =
    opts.seed === undefined ? randomSeed(STAGE) : integerOption(STAGE, 'seed', opts.seed, { min: 0 });
  const policy = errorPolicyOption(STAGE, opts);

  let listing: Promise<ImageFolderListing> | undefined;
  const getListing = (): Promise<ImageFolderListing> => {
    listing ??= list(config, STAGE);
    return listing;
  };

  const stream = new Stream<ImageFolderExample | ImageFolderRecord>(
    (counters) => {
      let files: AsyncIterator<string> | undefined;
      let byPath: Map<string, ImageFolderFile> | undefined;
      let done = false;
      // Files skipped since the last one yielded.
      let failedInARow = 0;
      /** The file read in flight: return() waits for it, so a cancelled run leaves no file open. */
      let reading: Promise<unknown> | null = null;
      const close = async (): Promise<void> => {
        done = counters.done = true;
        await files?.return?.();
      };
      return {
        async next(): Promise<IteratorResult<ImageFolderExample | ImageFolderRecord>> {
          if (done) return { value: undefined, done: true };
          counters.start();
          try {
            if (!files) {
              const l = await getListing();
              if (done) return { value: undefined, done: true };
              const chosen = l.files.filter((f) => f.split === split);
              if (chosen.length === 0) {
                throw new NotFoundError(
                  `${STAGE}: Expected image files in split '${split}' of root ${JSON.stringify(config.root)} but found none (${l.files.length} image files in all)`,
                  { file: config.root, stage: STAGE, parameter: 'split' },
                );
              }
              byPath = new Map(chosen.map((f) => [f.path, f]));
              const paths = chosen.map((f) => f.path);
              files = stringInputProducer(paths, { numEpochs, shuffle, seed })[Symbol.asyncIterator]();
            }
            for (;;) {
              const r = await files.next();
              if (r.done || done) {
                done = counters.done = true;
                return { value: undefined, done: true };
              }
              const key = r.value;
              const file = byPath!.get(key)!;
              let out: ImageFolderExample | ImageFolderRecord;
              try {
                const read = readWholeFile(key, STAGE);
                reading = read;
                const value = await read.finally(() => (reading = null));
                out = decode
                  ? {
                      key,
                      label: file.label,
                      className: file.className,
                      image: await decodeImageOf(value, channels, key),
                    }
                  : { key, label: file.label, className: file.className, value };
              } catch (err) {
                handleElementError(policy, counters, err, key, STAGE);
                failedInARow++;
                if (numEpochs === undefined && failedInARow >= 2 * byPath!.size) {
                  throw new TooManyErrorsError(
                    `${STAGE}: Expected images from split '${split}' of ${JSON.stringify(config.root)} read forever ` +
                      `(numEpochs: null) but ${failedInARow} files in a row failed (${byPath!.size} in the split): every file fails`,
                    { file: config.root, stage: STAGE, parameter: 'onError', cause: err },
                  );
                }
                continue;
              }
              failedInARow = 0;
              counters.read++;
              counters.elementsIn++;
              counters.elementsOut++;
              return { value: out, done: false };
            }
          } catch (err) {
            if (!done) await close();
            throw err;
          }
        },
        async return(): Promise<IteratorResult<ImageFolderExample | ImageFolderRecord>> {
          if (!done) await close();
          await reading?.catch(() => undefined);
          return { value: undefined, done: true };
        },
      };
    },
    { name: 'image_folder' },
  );
  return Object.defineProperties(stream, {
    seed: { value: seed, enumerable: true },
    listing: { get: getListing, enumerable: true },
  }) as ImageFolderStream<ImageFolderExample | ImageFolderRecord>;
}

/**
 * decodeImage on a file's bytes; its errors (stage `decodeImage`, no file) are re-raised as the same
 * class with the same message and key, naming the file and this stage, the original as cause.
 */
async function decodeImageOf(
  bytes: Uint8Array,
  channels: 0 | 1 | 3 | 4,
  path: string,
): Promise<Tensor<'uint8'>> {
  try {
    return await decodeImage(bytes, { channels, key: path });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const ErrorClass = err.constructor as new (message: string, context: InputErrorContext) => InputError;
    throw new ErrorClass(err.message, {
      file: path,
      offset: err.offset,
      key: err.key ?? path,
      parameter: err.parameter,
      stage: STAGE,
      cause: err,
    });
  }
}
