import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batch } from '../../src/batch/batch.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { dumpSamples, sanitizeFileName } from '../../src/inspect/dump-samples.js';
import { rescaleForView } from '../../src/inspect/view-rescale.js';

const H = 3;
const W = 4;

/** Example i: a uint8 RGB image whose every sample is 10 * i + channel, label i % 3, key 'k/i'. */
function example(i: number) {
  const data = new Uint8Array(H * W * 3);
  for (let p = 0; p < data.length; p++) data[p] = 10 * i + (p % 3);
  return {
    image: { dtype: 'uint8', shape: [H, W, 3], data } as Tensor<'uint8'>,
    label: i % 3,
    key: `k/${i}`,
  };
}

async function pixels(path: string, gray = false) {
  const decoder = gray ? sharp(path).toColourspace('b-w') : sharp(path);
  const { data, info } = await decoder.raw().toBuffer({ resolveWithObject: true });
  return { data: Array.from(data), width: info.width, height: info.height, channels: info.channels };
}

/** A source that records how many elements were pulled and whether return() was called. */
function countingSource<T>(items: T[]) {
  const log = { pulls: 0, returned: false };
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        async next() {
          if (i >= items.length) return { done: true, value: undefined };
          log.pulls++;
          return { done: false, value: items[i++] };
        },
        async return() {
          log.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { iterable, log };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inqueue-dump-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dumpSamples', () => {
  it('unbatches a stream of batches and writes uint8 images as they are', async () => {
    const examples = Array.from({ length: 6 }, (_, i) => example(i));
    const batches = batch(examples, { batchSize: 4, allowSmallerFinalBatch: true });
    const { files, index } = await dumpSamples(batches, { dir, count: 5 });
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      '0_0.png',
      '1_1.png',
      '2_2.png',
      '3_0.png',
      '4_1.png',
    ]);
    for (let i = 0; i < 5; i++) {
      const got = await pixels(files[i]);
      expect([got.height, got.width, got.channels]).toEqual([H, W, 3]);
      expect(got.data).toEqual(Array.from(example(i).image.data));
    }
    expect(index).toBe(join(dir, 'index.csv'));
    expect(await readFile(index, 'utf8')).toBe(
      'index,key,label,class,file\n0,k/0,0,,0_0.png\n1,k/1,1,,1_1.png\n2,k/2,2,,2_2.png\n3,k/3,0,,3_0.png\n4,k/4,1,,4_1.png\n',
    );
  });

  it('writes single examples, with class names in the index and the name template', async () => {
    const { files, index } = await dumpSamples([0, 1, 2].map(example), {
      dir,
      name: '{class}-{key}-{index}',
      classNames: ['cat', 'dog, big'],
    });
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      'cat-k_0-0.png',
      'dog__big-k_1-1.png',
      '2-k_2-2.png',
    ]);
    expect(await readFile(index, 'utf8')).toBe(
      'index,key,label,class,file\n0,k/0,0,cat,cat-k_0-0.png\n1,k/1,1,"dog, big",dog__big-k_1-1.png\n2,k/2,2,,2-k_2-2.png\n',
    );
  });

  it("names missing values 'none' and de-duplicates repeated names", async () => {
    const img = example(0).image;
    const { files } = await dumpSamples([{ image: img }, { image: img }], { dir, name: '{label}_{key}' });
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['none_none.png', 'none_none-1.png']);
  });

  it('stops after count images and returns the source without pulling more', async () => {
    const examples = Array.from({ length: 10 }, (_, i) => example(i));
    const { iterable, log } = countingSource(examples);
    const { files } = await dumpSamples(iterable, { dir, count: 3 });
    expect(files).toHaveLength(3);
    expect(log).toEqual({ pulls: 3, returned: true });
    expect((await readdir(dir)).sort()).toEqual(['0_0.png', '1_1.png', '2_2.png', 'index.csv']);
  });

  it('stops in the middle of a batch', async () => {
    const batches = [0, 1].map((b) => ({
      image: { dtype: 'uint8', shape: [2, 1, 1, 1], data: Uint8Array.of(b * 2, b * 2 + 1) },
      label: { dtype: 'int32', shape: [2], data: Int32Array.of(7, 8) },
    }));
    const { iterable, log } = countingSource(batches);
    const { files } = await dumpSamples(iterable, { dir, count: 1 });
    expect(files).toEqual([join(dir, '0_7.png')]);
    expect(log).toEqual({ pulls: 1, returned: true });
  });

  it('writes everything when the source ends before count', async () => {
    const { files } = await dumpSamples([example(0)], { dir, count: 30 });
    expect(files).toHaveLength(1);
  });

  it('rescales float images per image by min-max, constant ones to 128', async () => {
    const data = Float32Array.from({ length: H * W }, (_, i) => -1 + (2 * i) / (H * W - 1));
    const flat = { dtype: 'float32', shape: [H, W, 1], data: new Float32Array(H * W).fill(0.3) };
    const { files } = await dumpSamples(
      [{ image: { dtype: 'float32', shape: [H, W, 1], data } }, { image: flat }],
      {
        dir,
      },
    );
    const expected = Array.from(data, (v) => Math.round(((v + 1) / 2) * 255));
    expect(expected[0]).toBe(0);
    expect(expected.at(-1)).toBe(255);
    expect((await pixels(files[0], true)).data).toEqual(expected);
    expect((await pixels(files[1], true)).data).toEqual(new Array(H * W).fill(128));
  });

  it('rescaleForView maps infinities and NaN', () => {
    const t = {
      dtype: 'float32' as const,
      shape: [1, 5, 1],
      data: Float32Array.of(2, 4, Infinity, -Infinity, NaN),
    };
    expect(Array.from(rescaleForView(t))).toEqual([0, 255, 255, 0, 0]);
  });

  it('writes JPEG, dropping alpha', async () => {
    const rgba = { dtype: 'uint8', shape: [8, 8, 4], data: new Uint8Array(256).fill(200) };
    const { files } = await dumpSamples([{ image: rgba, label: 1 }], { dir, format: 'jpeg' });
    expect(files).toEqual([join(dir, '0_1.jpg')]);
    const got = await pixels(files[0]);
    expect(got.channels).toBe(3);
    for (const v of got.data) expect(Math.abs(v - 200)).toBeLessThanOrEqual(2);
  });

  it('creates a missing directory', async () => {
    const nested = join(dir, 'a', 'b');
    const { files } = await dumpSamples([example(0)], { dir: nested });
    expect(files).toEqual([join(nested, '0_0.png')]);
    expect(await readdir(nested)).toContain('index.csv');
  });

  it('uses another field', async () => {
    const { files } = await dumpSamples([{ pic: example(1).image, label: 2 }], { dir, field: 'pic' });
    expect((await pixels(files[0])).data).toEqual(Array.from(example(1).image.data));
  });

  it('sanitises file names', () => {
    expect(sanitizeFileName('a/b\\c d:é.png')).toBe('a_b_c_d__.png');
    expect(sanitizeFileName('..')).toBe('_..');
  });

  it.each([
    [{ dir: '' }, /dir/],
    [{ dir: 'x', count: 0 }, /count/],
    [{ dir: 'x', count: 1.5 }, /count/],
    [{ dir: 'x', format: 'gif' }, /format/],
    [{ dir: 'x', name: '{index}_{foo}' }, /name/],
    [{ dir: 'x', name: '' }, /name/],
    [{ dir: 'x', classNames: [1] }, /classNames/],
    [{ dir: 'x', field: 3 }, /field/],
  ])('rejects bad options %j before reading the source', async (options, message) => {
    const { iterable, log } = countingSource([example(0)]);
    await expect(dumpSamples(iterable, options as never)).rejects.toThrow(InvalidArgumentError);
    await expect(dumpSamples(iterable, options as never)).rejects.toThrow(message);
    expect(log.pulls).toBe(0);
  });

  it('rejects missing options and a non-iterable source', async () => {
    await expect(dumpSamples([example(0)], undefined as never)).rejects.toThrow(/dir/);
    await expect(dumpSamples(42 as never, { dir })).rejects.toThrow(InvalidArgumentError);
  });

  it('rejects a non-image field, a bad image and a non-object element, returning the source', async () => {
    const cases: [unknown, RegExp][] = [
      [{ image: 'nope' }, /image/],
      [{ label: 1 }, /image/],
      [{ image: { dtype: 'uint8', shape: [4], data: new Uint8Array(4) } }, /image/],
      [{ image: { dtype: 'uint8', shape: [1, 1, 5], data: new Uint8Array(5) } }, /image/],
      [{ image: { dtype: 'uint8', shape: [2, 1, 1, 1], data: new Uint8Array(3) } }, /image/],
      [7, /source/],
    ];
    for (const [element, message] of cases) {
      const { iterable, log } = countingSource([element]);
      const err = await dumpSamples(iterable as AsyncIterable<object>, { dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(String(err)).toMatch(message);
      expect(log.returned).toBe(true);
    }
  });
});
