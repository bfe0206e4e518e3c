import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import { type Source, Stream } from '../core/stream.js';
import { tensor } from '../core/tensor.js';
import { integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { encodeJpeg, encodePng } from '../decode/encode-image.js';
import { classNameOf, classNamesOption, type Sample, stringOption, unbatch } from './samples.js';
import { type ViewImage, viewImage } from './view-rescale.js';

const STAGE = 'dumpSamples';
const FORMATS = ['png', 'jpeg'] as const;
const PLACEHOLDERS = new Set(['index', 'label', 'class', 'key']);

export interface DumpSamplesOptions {
  /** Directory to write into; created (recursively) when missing. */
  dir: string;
  /** Images to write (default 30); the source is returned (cancelled) once they are written. */
  count?: number;
  /** 'png' (default, lossless) or 'jpeg' (quality 95; alpha is dropped). */
  format?: 'png' | 'jpeg';
  /**
   * File name template without extension (default '{index}_{label}'): `{index}` (0-based running
   * index), `{label}`, `{class}` (classNames[label], else the label), `{key}`. Missing values read
   * 'none'. The result is sanitised to [A-Za-z0-9._-]; a name already used gets '-1', '-2'... appended.
   */
  name?: string;
  /** Class names indexed by integer label, for `{class}` and the index file. */
  classNames?: readonly string[];
  /** Image field of the examples or batches (default 'image'). */
  field?: string;
}

export interface DumpSamplesResult {
  /** Paths of the images written, in order. */
  files: string[];
  /** Path of `index.csv` (columns index, key, label, class, file). */
  index: string;
}

/**
 * Writes the first `count` images of a stream of examples or batches to `dir` for eyeballing, plus
 * an `index.csv`. uint8 images are written as they are, other dtypes rescaled per image (see
 * view-rescale.ts). Batches are unbatched; after the `count`-th image the source is returned.
 */
export async function dumpSamples(
  source: Source<object>,
  options: DumpSamplesOptions,
): Promise<DumpSamplesResult> {
  const opts = objectOption(STAGE, 'options', options);
  const dir = stringOption(STAGE, 'dir', opts.dir);
  const count = integerOption(STAGE, 'count', opts.count, { min: 1, defaultValue: 30 });
  const format = oneOfOption(STAGE, 'format', opts.format, FORMATS, 'png');
  const template = nameTemplate(opts.name);
  const classNames = classNamesOption(STAGE, opts.classNames);
  const field = stringOption(STAGE, 'field', opts.field, 'image');
  const stream = Stream.from(source, STAGE, { stage: STAGE, parameter: 'source' });

  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const rows = ['index,key,label,class,file'];
  const used = new Set<string>();
  outer: for await (const element of stream) {
    for (const sample of unbatch(element, field, STAGE)) {
      const index = files.length;
      const className = classNameOf(sample.label, classNames);
      const base = uniqueName(renderName(template, index, sample, className), used);
      const file = `${base}.${format === 'png' ? 'png' : 'jpg'}`;
      const path = join(dir, file);
      await writeFile(path, await encode(viewImage(sample.image, STAGE, field), format));
      files.push(path);
      rows.push(
        [String(index), sample.key ?? '', labelText(sample.label), className ?? '', file]
          .map(csvCell)
          .join(','),
      );
      if (files.length === count) break outer;
    }
  }
  const index = join(dir, 'index.csv');
  await writeFile(index, `${rows.join('\n')}\n`);
  return { files, index };
}

function nameTemplate(value: unknown): string {
  const template = stringOption(STAGE, 'name', value, '{index}_{label}');
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (!PLACEHOLDERS.has(m[1])) {
      throw invalidArgument(
        'name',
        'a template using only {index}, {label}, {class} and {key}',
        template,
        STAGE,
      );
    }
  }
  return template;
}

function labelText(label: Sample['label']): string {
  return label === undefined ? '' : String(label);
}

function renderName(template: string, index: number, sample: Sample, className: string | undefined): string {
  const values: Record<string, string> = {
    index: String(index),
    label: labelText(sample.label),
    class: className ?? labelText(sample.label),
    key: sample.key ?? '',
  };
  const raw = template.replace(/\{(index|label|class|key)\}/g, (_, p: string) => values[p] || 'none');
  return sanitizeFileName(raw);
}

/** Keeps [A-Za-z0-9._-], replaces anything else by '_', and never yields '', '.' or '..'. */
export function sanitizeFileName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return /^\.*$/.test(clean) ? `_${clean}` : clean;
}

function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}-${i}`;
  used.add(name);
  return name;
}

async function encode(view: ViewImage, format: 'png' | 'jpeg'): Promise<Uint8Array> {
  const { data, height, width, channels } = view;
  if (format === 'png') return encodePng(tensor('uint8', [height, width, channels], data));
  if (channels === 1 || channels === 3) return encodeJpeg(tensor('uint8', [height, width, channels], data));
  // JPEG has no alpha: keep the colour channels.
  const keep = channels - 1;
  const out = new Uint8Array(height * width * keep);
  for (let p = 0, o = 0; p < data.length; p += channels)
    for (let c = 0; c < keep; c++) out[o++] = data[p + c];
  return encodeJpeg(tensor('uint8', [height, width, keep], out));
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
