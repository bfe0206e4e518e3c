import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { invalidArgument } from '../core/errors.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';
import { ensureSharpConfigured } from '../decode/sharp-config.js';
import { drawText, fitText, GLYPH_HEIGHT } from './bitmap-font.js';
import { classNameOf, classNamesOption, type Sample, stringOption, unbatch } from './samples.js';
import { type ViewImage, viewImage } from './view-rescale.js';

const STAGE = 'contactSheet';

/** Background of the sheet and of the caption bands. */
export const SHEET_BACKGROUND: readonly [number, number, number, number] = [40, 40, 40, 255];
/** Caption colour. */
export const CAPTION_COLOR: readonly [number, number, number, number] = [255, 255, 255, 255];
/** Pixels of background around and between cells. */
export const SHEET_GAP = 2;

/** An example, a batch, or an array of either. */
export type SheetInput = object | readonly object[];

export interface ContactSheetOptions {
  /** PNG file to write; its directory is created when missing. */
  out: string;
  /** Cells per row (default 8; fewer when there are fewer images). */
  columns?: number;
  /** Draw a caption band under each cell: class name, else label (default true). */
  labels?: boolean;
  /** Class names indexed by integer label. */
  classNames?: readonly string[];
  /** Integer nearest-neighbour magnification of every image (default 2, 1..16). */
  scale?: number;
  /** The same images before augmentation: each cell shows before (left) and after (right). */
  before?: SheetInput;
  /** Image field (default 'image'). */
  field?: string;
}

export interface ContactSheetResult {
  file: string;
  width: number;
  height: number;
  columns: number;
  rows: number;
  /** Size of one cell's image area (without the caption band). */
  cellWidth: number;
  cellHeight: number;
  /** Height of the caption band under each cell (0 without labels). */
  captionHeight: number;
}

/**
 * Writes one PNG grid of the images, row-major, `columns` per row. Cells are as large as the
 * largest image times `scale` (twice as wide in before/after mode); smaller images sit top-left.
 * uint8 images are drawn as they are, other dtypes rescaled per image (view-rescale.ts). Captions use
 * the built-in 5x7 font at max(1, floor(scale / 2)) pixels per dot, cut to the cell width.
 */
export async function contactSheet(
  input: SheetInput,
  options: ContactSheetOptions,
): Promise<ContactSheetResult> {
  const opts = objectOption(STAGE, 'options', options);
  const out = stringOption(STAGE, 'out', opts.out);
  const columnsOpt = integerOption(STAGE, 'columns', opts.columns, { min: 1, max: 1024, defaultValue: 8 });
  const labels = booleanOption(STAGE, 'labels', opts.labels, true);
  const classNames = classNamesOption(STAGE, opts.classNames);
  const scale = integerOption(STAGE, 'scale', opts.scale, { min: 1, max: 16, defaultValue: 2 });
  const field = stringOption(STAGE, 'field', opts.field, 'image');
  const samples = samplesOf(input, field, 'input');
  if (samples.length === 0) throw invalidArgument('input', 'at least one image', input, STAGE);
  const after = samples.map((s) => viewImage(s.image, STAGE, field));
  let before: ViewImage[] | undefined;
  if (opts.before !== undefined) {
    const b = samplesOf(opts.before, field, 'before');
    if (b.length !== samples.length) {
      throw invalidArgument(
        'before',
        `${samples.length} images (one per image)`,
        `${b.length} images`,
        STAGE,
      );
    }
    before = b.map((s) => viewImage(s.image, STAGE, 'before'));
  }

  const all = before ? [...after, ...before] : after;
  const halfWidth = Math.max(...all.map((v) => v.width)) * scale;
  const cellWidth = before ? 2 * halfWidth : halfWidth;
  const cellHeight = Math.max(...all.map((v) => v.height)) * scale;
  const dot = Math.max(1, Math.floor(scale / 2));
  const captionHeight = labels ? (GLYPH_HEIGHT + 2) * dot : 0;
  const columns = Math.min(columnsOpt, samples.length);
  const rows = Math.ceil(samples.length / columns);
  const width = columns * cellWidth + (columns + 1) * SHEET_GAP;
  const height = rows * (cellHeight + captionHeight) + (rows + 1) * SHEET_GAP;
  if (width * height > 100_000_000) {
    throw invalidArgument('scale', 'a sheet of at most 100 megapixels', `${width} x ${height}`, STAGE);
  }

  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < rgba.length; p += 4) rgba.set(SHEET_BACKGROUND, p);
  samples.forEach((sample, i) => {
    const x = SHEET_GAP + (i % columns) * (cellWidth + SHEET_GAP);
    const y = SHEET_GAP + Math.floor(i / columns) * (cellHeight + captionHeight + SHEET_GAP);
    if (before) {
      blit(rgba, width, before[i], x, y, scale);
      blit(rgba, width, after[i], x + halfWidth, y, scale);
    } else blit(rgba, width, after[i], x, y, scale);
    if (labels) {
      const text = fitText(captionOf(sample, classNames), dot, cellWidth);
      drawText(rgba, width, x, y + cellHeight + dot, text, CAPTION_COLOR, dot);
    }
  });

  ensureSharpConfigured();
  await mkdir(dirname(out), { recursive: true });
  await sharp(rgba, { raw: { width, height, channels: 4 } })
    .png()
    .toFile(out);
  return { file: out, width, height, columns, rows, cellWidth, cellHeight, captionHeight };
}

function samplesOf(input: unknown, field: string, parameter: string): Sample[] {
  const elements = Array.isArray(input) ? input : [input];
  return elements.flatMap((e) => unbatch(e, field, STAGE, parameter));
}

function captionOf(sample: Sample, classNames: readonly string[] | undefined): string {
  const name = classNameOf(sample.label, classNames);
  if (name !== undefined) return name;
  return sample.label === undefined ? '' : String(sample.label);
}

/** Copies an image, each pixel a scale x scale square, as RGBA (gray is replicated, alpha kept or 255). */
function blit(rgba: Uint8Array, sheetWidth: number, view: ViewImage, x0: number, y0: number, scale: number) {
  const { data, height, width, channels } = view;
  const px = new Uint8Array(4);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = (r * width + c) * channels;
      if (channels <= 2) px.fill(data[i], 0, 3);
      else px.set(data.subarray(i, i + 3));
      px[3] = channels === 2 || channels === 4 ? data[i + channels - 1] : 255;
      for (let dy = 0; dy < scale; dy++) {
        const row = (y0 + r * scale + dy) * sheetWidth;
        for (let dx = 0; dx < scale; dx++) rgba.set(px, (row + x0 + c * scale + dx) * 4);
      }
    }
  }
}
