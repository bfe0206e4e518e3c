import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { glyph, textWidth } from '../../src/inspect/bitmap-font.js';
import { CAPTION_COLOR, contactSheet, SHEET_BACKGROUND, SHEET_GAP } from '../../src/inspect/contact-sheet.js';

const H = 6;
const W = 5;
const B = 10;

/** A batch of B uint8 RGB images; image i is the solid colour [20 i, 255 - 20 i, 7], label i. */
function solidBatch() {
  const data = new Uint8Array(B * H * W * 3);
  for (let i = 0; i < B; i++)
    for (let p = 0; p < H * W; p++) data.set([20 * i, 255 - 20 * i, 7], (i * H * W + p) * 3);
  return {
    image: { dtype: 'uint8', shape: [B, H, W, 3], data } as Tensor<'uint8'>,
    label: {
      dtype: 'int32',
      shape: [B],
      data: Int32Array.from({ length: B }, (_, i) => i),
    } as Tensor<'int32'>,
  };
}

async function read(path: string) {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) =>
    Array.from(data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4));
  return { info, at };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inqueue-sheet-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('contactSheet', () => {
  it('lays out columns x rows cells with a caption band and draws each image scaled', async () => {
    const out = join(dir, 'sub', 'sheet.png');
    const r = await contactSheet(solidBatch(), { out, columns: 4, scale: 2 });
    const caption = 9; // (7 + 2) * max(1, floor(2 / 2))
    expect(r).toMatchObject({
      file: out,
      columns: 4,
      rows: 3,
      cellWidth: W * 2,
      cellHeight: H * 2,
      captionHeight: caption,
    });
    const { info, at } = await read(out);
    expect([info.width, info.height, info.channels]).toEqual([
      4 * W * 2 + 5 * SHEET_GAP,
      3 * (H * 2 + caption) + 4 * SHEET_GAP,
      4,
    ]);
    expect([r.width, r.height]).toEqual([info.width, info.height]);
    // Cell 6: column 2, row 1.
    const x = SHEET_GAP + 2 * (W * 2 + SHEET_GAP);
    const y = SHEET_GAP + (H * 2 + caption + SHEET_GAP);
    for (const [dx, dy] of [
      [0, 0],
      [W * 2 - 1, H * 2 - 1],
      [3, 5],
    ])
      expect(at(x + dx, y + dy)).toEqual([120, 135, 7, 255]);
    expect(at(x - 1, y)).toEqual([...SHEET_BACKGROUND]);
    expect(at(x + W * 2, y)).toEqual([...SHEET_BACKGROUND]);
    // Empty cells of the last row are background.
    expect(at(SHEET_GAP + 3 * (W * 2 + SHEET_GAP), SHEET_GAP + 2 * (H * 2 + caption + SHEET_GAP))).toEqual([
      ...SHEET_BACKGROUND,
    ]);
    // Caption '6' in the band under cell 6: exactly the glyph's dots are caption-coloured.
    const band = y + H * 2 + 1;
    const rows = glyph('6');
    for (let gy = 0; gy < 7; gy++)
      for (let gx = 0; gx < 5; gx++) {
        const on = (rows[gy] >> (4 - gx)) & 1;
        expect(at(x + gx, band + gy)).toEqual(on ? [...CAPTION_COLOR] : [...SHEET_BACKGROUND]);
      }
  });

  it('captions with class names, cut to the cell width', async () => {
    const out = join(dir, 's.png');
    const batchOf2 = {
      image: { dtype: 'uint8', shape: [1, 4, 2, 1], data: new Uint8Array(8) },
      label: { dtype: 'int32', shape: [1], data: Int32Array.of(1) },
    };
    // Cell width 2 * 3 = 6 px at scale 3 (dot 1): room for one glyph.
    const r = await contactSheet(batchOf2, { out, scale: 3, classNames: ['a', 'WWW'] });
    const { at } = await read(out);
    const band = SHEET_GAP + r.cellHeight + 1;
    expect(at(SHEET_GAP, band)).toEqual([...CAPTION_COLOR]); // W's top-left dot
    expect(textWidth('W', 1)).toBe(5);
  });

  it('without labels has no caption band', async () => {
    const r = await contactSheet(solidBatch(), {
      out: join(dir, 's.png'),
      labels: false,
      columns: 5,
      scale: 1,
    });
    expect(r.captionHeight).toBe(0);
    expect([r.width, r.height]).toEqual([5 * W + 6 * SHEET_GAP, 2 * H + 3 * SHEET_GAP]);
  });

  it('before/after doubles the cell width, before on the left', async () => {
    const after = solidBatch();
    const before = {
      image: { dtype: 'uint8', shape: [B, H, W, 3], data: new Uint8Array(B * H * W * 3).fill(250) },
    };
    const plain = await contactSheet(after, { out: join(dir, 'a.png') });
    const both = await contactSheet(after, { out: join(dir, 'b.png'), before });
    expect(both.cellWidth).toBe(2 * plain.cellWidth);
    const { at } = await read(both.file);
    expect(at(SHEET_GAP, SHEET_GAP)).toEqual([250, 250, 250, 255]);
    expect(at(SHEET_GAP + W * 2, SHEET_GAP)).toEqual([0, 255, 7, 255]);
  });

  it('takes an array of examples and rescales float and gray images', async () => {
    const f = { dtype: 'float32', shape: [1, 2, 1], data: Float32Array.of(-3, 5) };
    const flat = { dtype: 'float32', shape: [1, 2, 1], data: Float32Array.of(2, 2) };
    const r = await contactSheet([{ image: f, label: 0 }, { image: flat }], {
      out: join(dir, 'f.png'),
      scale: 1,
    });
    const { at } = await read(r.file);
    expect(at(SHEET_GAP, SHEET_GAP)).toEqual([0, 0, 0, 255]);
    expect(at(SHEET_GAP + 1, SHEET_GAP)).toEqual([255, 255, 255, 255]);
    expect(at(2 * SHEET_GAP + 2, SHEET_GAP)).toEqual([128, 128, 128, 255]);
  });

  it.each([
    [{}, /out/],
    [{ out: 'x.png', columns: 0 }, /columns/],
    [{ out: 'x.png', scale: 0 }, /scale/],
    [{ out: 'x.png', scale: 1.5 }, /scale/],
    [{ out: 'x.png', labels: 'yes' }, /labels/],
    [{ out: 'x.png', classNames: 'cat' }, /classNames/],
    [{ out: 'x.png', before: { image: 'x' } }, /image/],
    [{ out: 'x.png', before: [] }, /before/],
  ])('rejects bad options %j', async (options, message) => {
    const err = await contactSheet(solidBatch(), options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(String(err)).toMatch(message);
  });

  it('rejects bad input', async () => {
    const out = join(dir, 'x.png');
    await expect(contactSheet([], { out })).rejects.toThrow(/at least one image/);
    await expect(contactSheet([{ label: 1 }], { out })).rejects.toThrow(/image/);
    await expect(contactSheet(null as never, { out })).rejects.toThrow(InvalidArgumentError);
    const wide = { image: { dtype: 'uint8', shape: [1, 1, 6], data: new Uint8Array(6) } };
    await expect(contactSheet(wide, { out })).rejects.toThrow(InvalidArgumentError);
  });

  it('writes a viewable sample sheet', async () => {
    const data = new Uint8Array(B * 16 * 16 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 7)) & 255;
    const image = { dtype: 'uint8', shape: [B, 16, 16, 3], data };
    const label = { dtype: 'int32', shape: [B], data: Int32Array.from({ length: B }, (_, i) => i) };
    const out = process.env.INSPECT_SHEET_OUT ?? join(dir, 'view.png');
    const r = await contactSheet(
      { image, label },
      { out, columns: 5, scale: 4, classNames: ['airplane', 'car', 'bird'] },
    );
    expect(r.rows).toBe(2);
  });
});
