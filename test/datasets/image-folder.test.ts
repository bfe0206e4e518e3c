import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DecodeError,
  InvalidArgumentError,
  NotFoundError,
  TooManyErrorsError,
} from '../../src/core/errors.js';
import {
  type ImageFolderOptions,
  type ImageFolderSplit,
  imageFolder,
  imageFolderPercentage,
  imageFolderSplit,
  listImageFolder,
} from '../../src/datasets/image-folder.js';
import { canListOpenFds, makeTempDir, openDescriptorsFor, type TempDir, tick } from '../helpers/files.js';

let tmp: TempDir;
let root: string;
const bytes: Record<string, Uint8Array> = {};
const RED = { r: 200, g: 30, b: 10 };
const BLUE = { r: 10, g: 40, b: 220 };

function tile(background: { r: number; g: number; b: number }): sharp.Sharp {
  return sharp({ create: { width: 8, height: 8, channels: 3, background } });
}

async function put(rel: string, data: Uint8Array | string): Promise<string> {
  const path = join(root, rel);
  await writeFile(path, data);
  if (typeof data !== 'string') bytes[path] = data;
  return path;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

async function firstPull(stream: AsyncIterable<unknown>): Promise<Error> {
  return rejection(
    (async () => {
      for await (const _ of stream) break;
    })(),
  );
}

beforeAll(async () => {
  tmp = await makeTempDir('image-folder');
  root = join(tmp.dir, 'flower_photos');
  for (const c of ['roses', 'daisy', 'empty']) await mkdir(join(root, c), { recursive: true });
  const png = new Uint8Array(await tile(RED).png().toBuffer());
  const jpeg = new Uint8Array(await tile(BLUE).jpeg({ quality: 95 }).toBuffer());
  await put('daisy/d1.png', png);
  await put('daisy/d2.jpeg', jpeg);
  await put('daisy/D3.JPG', jpeg);
  await put('daisy/notes.txt', 'not an image');
  await put('roses/r1.jpg', jpeg);
  await put('roses/r2.png', png);
  await put('LICENSE.txt', 'files directly in root belong to no class');
});

afterAll(async () => {
  await tmp.cleanup();
});

describe('listImageFolder', () => {
  it('labels classes by sorted sub-folder, reports empty classes and non-image files', async () => {
    const l = await listImageFolder({ root });
    expect(l.classNames).toEqual(['daisy', 'empty', 'roses']);
    expect(l.emptyClasses).toEqual(['empty']);
    expect(l.ignored).toEqual([join(root, 'daisy/notes.txt')]);
    expect(l.files.map((f) => [f.path, f.label, f.className])).toEqual([
      [join(root, 'daisy/D3.JPG'), 0, 'daisy'],
      [join(root, 'daisy/d1.png'), 0, 'daisy'],
      [join(root, 'daisy/d2.jpeg'), 0, 'daisy'],
      [join(root, 'roses/r1.jpg'), 2, 'roses'],
      [join(root, 'roses/r2.png'), 2, 'roses'],
    ]);
    for (const f of l.files) expect(f.split).toBe(imageFolderSplit(f.path));
    const splits: ImageFolderSplit[] = ['train', 'validation', 'test'];
    const total = splits.reduce((n, s) => n + l.counts[s].total, 0);
    expect(total).toBe(5);
    for (const s of splits) {
      expect(l.counts[s].perClass).toHaveLength(3);
      expect(l.counts[s].perClass[1]).toBe(0);
      expect(l.counts[s].perClass.reduce((a, b) => a + b, 0)).toBe(l.counts[s].total);
      expect(l.counts[s].total).toBe(l.files.filter((f) => f.split === s).length);
    }
  });

  it('honours custom extensions, with or without the dot, in any case', async () => {
    const l = await listImageFolder({ root, extensions: ['.PNG'] });
    expect(l.files.map((f) => f.path)).toEqual([join(root, 'daisy/d1.png'), join(root, 'roses/r2.png')]);
    expect(l.ignored).toHaveLength(4);
  });

  it("matches retrain.py's which_set percentages (sha1, _nohash_ stripped)", () => {
    // Values computed with retrain.py's formula in Python.
    expect(imageFolderPercentage('a.jpg')).toBe(81.5861566482943);
    expect(imageFolderPercentage('rose_1.JPG')).toBe(15.25902833982578);
    expect(imageFolderPercentage('abc_nohash_0.png')).toBe(60.19756615309094);
    expect(imageFolderPercentage('x/y/5547758_eea9edfd54_n.jpg')).toBe(95.61714675737281);
    expect(imageFolderPercentage('abc_nohash_7.png')).toBe(imageFolderPercentage('abc_nohash_0.png'));
    expect(imageFolderSplit('rose_1.JPG')).toBe('test');
    expect(imageFolderSplit('rose_1.JPG', { validationPercentage: 20 })).toBe('validation');
    expect(imageFolderSplit('a.jpg', { validationPercentage: 0, testPercentage: 90 })).toBe('test');
    expect(imageFolderSplit('a.jpg')).toBe('train');
  });

  it('keeps every file in its split when other files are added or removed', async () => {
    const dir = join(tmp.dir, 'stability');
    await mkdir(join(dir, 'a'), { recursive: true });
    const names = Array.from({ length: 200 }, (_, i) => `img_${i * 7919}.jpg`);
    for (const n of names) await writeFile(join(dir, 'a', n), '');
    const before = new Map((await listImageFolder({ root: dir })).files.map((f) => [f.path, f.split]));
    expect(before.size).toBe(200);
    for (const n of names.slice(0, 60)) await rm(join(dir, 'a', n));
    for (let i = 0; i < 80; i++) await writeFile(join(dir, 'a', `new_${i}.png`), '');
    const after = await listImageFolder({ root: dir });
    expect(after.files).toHaveLength(220);
    let kept = 0;
    for (const f of after.files) {
      if (!before.has(f.path)) continue;
      kept++;
      expect(f.split).toBe(before.get(f.path));
    }
    expect(kept).toBe(140);
    expect(new Set(after.files.map((f) => f.split))).toEqual(new Set(['train', 'validation', 'test']));
  });

  it('splits roughly by the percentages', () => {
    const count = (v: number, t: number): Record<ImageFolderSplit, number> => {
      const c = { train: 0, validation: 0, test: 0 };
      for (let i = 0; i < 1000; i++) {
        c[imageFolderSplit(`photo_${i}.jpg`, { validationPercentage: v, testPercentage: t })]++;
      }
      return c;
    };
    const a = count(10, 10);
    expect(a.validation).toBeGreaterThan(60);
    expect(a.validation).toBeLessThan(140);
    expect(a.test).toBeGreaterThan(60);
    expect(a.test).toBeLessThan(140);
    const b = count(30, 20);
    expect(b.validation).toBeGreaterThan(250);
    expect(b.validation).toBeLessThan(350);
    expect(b.test).toBeGreaterThan(160);
    expect(b.test).toBeLessThan(240);
    expect(count(0, 0).train).toBe(1000);
    expect(count(100, 0).validation).toBe(1000);
  });

  it('rejects a missing root, a file as root and a root without class folders', async () => {
    const missing = join(tmp.dir, 'no-such-folder');
    const e1 = await rejection(listImageFolder({ root: missing }));
    expect(e1).toBeInstanceOf(NotFoundError);
    expect(e1.message).toContain(missing);
    const e2 = await rejection(listImageFolder({ root: join(root, 'LICENSE.txt') }));
    expect(e2).toBeInstanceOf(NotFoundError);
    expect(e2.message).toContain('LICENSE.txt');
    const flat = join(tmp.dir, 'flat');
    await mkdir(flat);
    await writeFile(join(flat, 'x.jpg'), '');
    const e3 = await rejection(listImageFolder({ root: flat }));
    expect(e3).toBeInstanceOf(NotFoundError);
    expect(e3.message).toContain(flat);
  });

  it('rejects invalid options', async () => {
    const bad: unknown[] = [
      { root, validationPercentage: -1 },
      { root, testPercentage: -0.5 },
      { root, validationPercentage: 60, testPercentage: 41 },
      { root, testPercentage: Number.NaN },
      { root, validationPercentage: '10' },
      { root, extensions: [] },
      { root, extensions: [''] },
      { root: '' },
      {},
      undefined,
    ];
    for (const options of bad) {
      const err = await rejection(listImageFolder(options as never));
      expect(err, JSON.stringify(options)).toBeInstanceOf(InvalidArgumentError);
    }
    expect(() => imageFolderSplit('a.jpg', { validationPercentage: 101 })).toThrow(InvalidArgumentError);
  });
});

describe('imageFolder', () => {
  const all = { validationPercentage: 0, testPercentage: 0 };

  it('decode: false gives the file bytes with label and class name', async () => {
    const stream = imageFolder({ root, ...all, decode: false, shuffle: false });
    const out = await stream.toArray();
    expect(out.map((e) => [e.key, e.label, e.className])).toEqual([
      [join(root, 'daisy/D3.JPG'), 0, 'daisy'],
      [join(root, 'daisy/d1.png'), 0, 'daisy'],
      [join(root, 'daisy/d2.jpeg'), 0, 'daisy'],
      [join(root, 'roses/r1.jpg'), 2, 'roses'],
      [join(root, 'roses/r2.png'), 2, 'roses'],
    ]);
    for (const e of out) expect(e.value).toEqual(new Uint8Array(await readFile(e.key)));
    expect(out.every((e) => e.value instanceof Uint8Array)).toBe(true);
    const l = await stream.listing;
    expect(l.counts.train.total).toBe(5);
    expect(l.counts.train.perClass).toEqual([3, 0, 2]);
  });

  it('decodes to [8, 8, 3] uint8 images', async () => {
    const out = await imageFolder({ root, ...all, seed: 3 }).toArray();
    expect(out).toHaveLength(5);
    for (const e of out) {
      expect(e.image.dtype).toBe('uint8');
      expect(e.image.shape).toEqual([8, 8, 3]);
      expect(e.image.data).toBeInstanceOf(Uint8Array);
      const want = e.key.endsWith('.png') ? RED : BLUE;
      const tol = e.key.endsWith('.png') ? 0 : 8;
      expect(Math.abs(e.image.data[0] - want.r)).toBeLessThanOrEqual(tol);
      expect(Math.abs(e.image.data[1] - want.g)).toBeLessThanOrEqual(tol);
      expect(Math.abs(e.image.data[2] - want.b)).toBeLessThanOrEqual(tol);
      expect(e.label).toBe(e.className === 'daisy' ? 0 : 2);
    }
    const gray = await imageFolder({ root, ...all, channels: 1, numEpochs: 1, shuffle: false }).toArray();
    expect(gray[0].image.shape).toEqual([8, 8, 1]);
  });

  it('streams numEpochs shuffled epochs, the same for the same seed', async () => {
    const keys = async (seed: number) =>
      (await imageFolder({ root, ...all, decode: false, numEpochs: 3, seed }).toArray()).map((e) => e.key);
    const a = await keys(11);
    expect(a).toHaveLength(15);
    expect(await keys(11)).toEqual(a);
    for (let e = 0; e < 3; e++) expect(new Set(a.slice(e * 5, e * 5 + 5)).size).toBe(5);
    const s = imageFolder({ root, decode: false });
    expect(Number.isInteger(s.seed)).toBe(true);
  });

  it('streams only the chosen split', async () => {
    const l = await listImageFolder({ root, validationPercentage: 50, testPercentage: 20 });
    for (const split of ['train', 'validation', 'test'] as const) {
      const want = l.files.filter((f) => f.split === split).map((f) => f.path);
      const stream = imageFolder({
        root,
        validationPercentage: 50,
        testPercentage: 20,
        split,
        decode: false,
        shuffle: false,
      });
      if (want.length === 0) {
        const err = await firstPull(stream);
        expect(err).toBeInstanceOf(NotFoundError);
        expect(err.message).toContain(split);
      } else {
        expect((await stream.toArray()).map((e) => e.key)).toEqual(want);
      }
    }
  });

  it('rejects invalid options at construction', () => {
    const bad: unknown[] = [
      { root, split: 'training' },
      { root, channels: 2 },
      { root, numEpochs: 0 },
      { root, seed: -1 },
      { root, decode: 'yes' },
      { root, shuffle: 1 },
      { root, validationPercentage: 90, testPercentage: 20 },
      { root: 42 },
    ];
    for (const options of bad) {
      expect(() => imageFolder(options as never), JSON.stringify(options)).toThrow(InvalidArgumentError);
    }
  });

  it('reports a missing root or no class folders on the first pull', async () => {
    const missing = join(tmp.dir, 'nowhere');
    const stream = imageFolder({ root: missing });
    const err = await firstPull(stream);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(missing);
    await expect(stream.listing).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reports an undecodable image and an unreadable file by name', async () => {
    const dir = join(tmp.dir, 'broken');
    await mkdir(join(dir, 'a'), { recursive: true });
    const fake = join(dir, 'a', 'fake.jpg');
    await writeFile(fake, 'this is text, not a JPEG');
    const e1 = await firstPull(imageFolder({ root: dir, ...all }));
    expect(e1).toBeInstanceOf(DecodeError);
    expect(e1.message).toContain(fake);

    const gone = join(dir, 'a', 'gone.png');
    await writeFile(gone, new Uint8Array(await tile(RED).png().toBuffer()));
    await rm(fake);
    const stream = imageFolder({ root: dir, ...all, decode: false });
    expect((await stream.listing).files.map((f) => f.path)).toEqual([gone]);
    await rm(gone);
    const e2 = await firstPull(stream);
    expect(e2).toBeInstanceOf(NotFoundError);
    expect(e2.message).toContain(gone);
    expect((e2 as NotFoundError).file).toBe(gone);
  });
});

describe('imageFolder: error policy', () => {
  const all = { validationPercentage: 0, testPercentage: 0, shuffle: false };
  let dir: string;
  let files: Record<string, string>;

  beforeAll(async () => {
    dir = join(tmp.dir, 'policy');
    await mkdir(join(dir, 'a'), { recursive: true });
    const png = new Uint8Array(await tile(RED).png().toBuffer());
    const jpeg = new Uint8Array(await tile(BLUE).jpeg().toBuffer());
    files = {
      good1: join(dir, 'a', '1-good.png'),
      empty: join(dir, 'a', '2-empty.jpg'),
      text: join(dir, 'a', '3-text.jpg'),
      cut: join(dir, 'a', '4-cut.jpg'),
      good2: join(dir, 'a', '5-good.jpg'),
      gone: join(dir, 'a', '6-gone.png'),
    };
    await writeFile(files.good1, png);
    await writeFile(files.empty, new Uint8Array(0));
    await writeFile(files.text, 'a text file named .jpg');
    await writeFile(files.cut, jpeg.subarray(0, 40));
    await writeFile(files.good2, jpeg);
    await writeFile(files.gone, png);
  });

  async function runFolder(options: Partial<ImageFolderOptions>) {
    const stream = imageFolder({ root: dir, ...all, ...options });
    // `gone` is listed, then deleted before it is read.
    await stream.listing;
    await rm(files.gone, { force: true });
    const keys: string[] = [];
    let error: unknown = null;
    try {
      for await (const e of stream) keys.push(e.key);
    } catch (err) {
      error = err;
    }
    const stats = stream.stats().find((s) => s.name === 'image_folder')!;
    await writeFile(files.gone, new Uint8Array(await tile(RED).png().toBuffer()));
    return { keys, error, stats, report: stream.report() };
  }

  it('raise (default): the first bad file ends the stream with its typed error', async () => {
    const out = await runFolder({});
    expect(out.keys).toEqual([files.good1]);
    expect(out.error).toBeInstanceOf(DecodeError);
    expect((out.error as DecodeError).key).toBe(files.empty);
    // The file whose error ended the stream is not counted: read = yielded + skipped still holds.
    expect(out.stats).toMatchObject({ read: 1, elementsOut: 1, skipped: 0 });
  });

  it("a decode error names the file and the imageFolder stage; decodeImage's error is its cause", async () => {
    for (const [name, why] of [
      ['empty', 'empty bytes'],
      ['text', 'Expected JPEG or PNG bytes'],
    ] as const) {
      const only = join(tmp.dir, `ctx-${name}`);
      await mkdir(join(only, 'a'), { recursive: true });
      const path = join(only, 'a', `bad-${name}.jpg`);
      await writeFile(path, await readFile(files[name]));
      const err = await firstPull(imageFolder({ root: only, ...all }));
      expect(err).toBeInstanceOf(DecodeError);
      expect(err).toMatchObject({ file: path, key: path, stage: 'imageFolder', parameter: 'bytes' });
      expect(err.message).toContain(why);
      expect(err.message).toContain(JSON.stringify(path));
      expect(err.cause).toBeInstanceOf(DecodeError);
      expect(err.cause).toMatchObject({ key: path, stage: 'decodeImage', message: err.message });
      // Skipped, it is counted under its class name, as before.
      const skipped = imageFolder({ root: only, ...all, onError: 'skip' });
      expect(await skipped.toArray()).toEqual([]);
      expect(skipped.stats().find((st) => st.name === 'image_folder')!.skippedByReason).toEqual({
        DecodeError: { count: 1, firstKeys: [path] },
      });
    }
  });

  it('skip: empty, non-image, truncated and vanished files are counted by reason; read = yielded + skipped', async () => {
    const out = await runFolder({ onError: 'skip' });
    expect(out.error).toBeNull();
    expect(out.keys).toEqual([files.good1, files.good2]);
    expect(out.stats).toMatchObject({ read: 6, elementsOut: 2, skipped: 4 });
    expect(out.stats.skippedByReason).toEqual({
      DecodeError: { count: 3, firstKeys: [files.empty, files.text, files.cut] },
      NotFoundError: { count: 1, firstKeys: [files.gone] },
    });
    expect(out.report.stages).toEqual([
      { stage: 'image_folder', read: 6, yielded: 2, skipped: 4, skippedByReason: out.stats.skippedByReason },
    ]);
  });

  it('skip with decode: false: only unreadable files are bad', async () => {
    const out = await runFolder({ onError: 'skip', decode: false });
    expect(out.keys).toHaveLength(5);
    expect(out.stats.skippedByReason).toEqual({ NotFoundError: { count: 1, firstKeys: [files.gone] } });
  });

  it('warn: a line per skipped file; maxErrors raises TooManyErrorsError past the bound', async () => {
    const lines: string[] = [];
    const warned = await runFolder({ onError: 'warn', warn: (l) => lines.push(l) });
    expect(warned.keys).toEqual([files.good1, files.good2]);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain(`imageFolder: skipped ${files.gone}:`);
    const bounded = await runFolder({ onError: 'skip', maxErrors: 2 });
    expect(bounded.keys).toEqual([files.good1]);
    expect(bounded.error).toBeInstanceOf(TooManyErrorsError);
    expect((bounded.error as TooManyErrorsError).key).toBe(files.cut);
  });

  it('numEpochs null with every file failing raises TooManyErrorsError instead of spinning', async () => {
    const bad = join(tmp.dir, 'all-bad');
    await mkdir(join(bad, 'x'), { recursive: true });
    await writeFile(join(bad, 'x', 'a.jpg'), 'text');
    await writeFile(join(bad, 'x', 'b.png'), '');
    const t0 = performance.now();
    const err = await firstPull(imageFolder({ root: bad, ...all, numEpochs: null, onError: 'skip' }));
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(TooManyErrorsError);
    expect(err.message).toContain('every file fails');
  });

  it('rejects a bad onError at construction', () => {
    expect(() => imageFolder({ root: dir, onError: 'ignore' as never })).toThrow(InvalidArgumentError);
  });
});

describe('imageFolder: cancellation', () => {
  it.runIf(canListOpenFds)('return() during a read resolves only once the file is closed', async () => {
    // A big sparse file (no disk used): reading it takes long enough to call return() mid-read.
    const bigRoot = join(tmp.dir, 'big-root');
    await mkdir(join(bigRoot, 'cls'), { recursive: true });
    const big = join(bigRoot, 'cls', 'big.png');
    const handle = await open(big, 'w');
    await handle.truncate(96 * 2 ** 20);
    await handle.close();
    const it = imageFolder({ root: bigRoot, decode: false, validationPercentage: 0, testPercentage: 0 })[
      Symbol.asyncIterator
    ]();
    const pending = it.next().catch(() => undefined);
    for (let i = 0; i < 5000 && openDescriptorsFor(big) === 0; i++) await tick();
    expect(openDescriptorsFor(big)).toBe(1); // the read is in flight
    await it.return!();
    expect(openDescriptorsFor(big)).toBe(0);
    await pending;
    await rm(big);
  });
});
