import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/decode/decode-jpeg.js';
import { fractionOver, maxAbsDiff, meanAbsDiff, parsePnm } from './image-fixtures.js';

/**
 * decodeJpeg against libjpeg-turbo's djpeg on real photographs (Debian's python3-skimage photos,
 * fetched by scripts/fetch-test-photos.sh) re-encoded at several qualities, subsamplings and
 * progressive, plus the shipped rocket.jpg. Skipped, saying why, without djpeg or the photos.
 */

const PHOTO_DIR = process.env.INQUEUE_TEST_PHOTOS ?? join(tmpdir(), 'inqueue-test-photos');
const PNG_PHOTOS = ['astronaut.png', 'coffee.png', 'chelsea.png', 'motorcycle_left.png'];
const SHIPPED_JPEG = 'rocket.jpg';

function missing(): string | undefined {
  if (spawnSync('djpeg', ['-version']).status !== 0) {
    return 'djpeg not found (apt-get install libjpeg-turbo-progs)';
  }
  const absent = [...PNG_PHOTOS, SHIPPED_JPEG].filter((f) => !existsSync(join(PHOTO_DIR, f)));
  if (absent.length > 0) {
    return `photos ${absent.join(', ')} missing in ${PHOTO_DIR} (run scripts/fetch-test-photos.sh)`;
  }
  return undefined;
}

const skipReason = missing();
if (skipReason) console.warn(`djpeg agreement tests skipped: ${skipReason}`);

interface Variant {
  name: string;
  path: string;
  bytes: Uint8Array;
}

const VARIANTS: [string, (s: sharp.Sharp) => sharp.Sharp][] = [
  ['q75 4:2:0', (s) => s.jpeg({ quality: 75 })],
  ['q95 4:4:4', (s) => s.jpeg({ quality: 95, chromaSubsampling: '4:4:4' })],
  ['q90 progressive', (s) => s.jpeg({ quality: 90, progressive: true })],
  ['q85 gray', (s) => s.toColourspace('b-w').jpeg({ quality: 85 })],
];

describe.skipIf(skipReason !== undefined)('decodeJpeg agrees with djpeg on real photographs', () => {
  let dir: string;
  const jpegs: Variant[] = [];

  function djpeg(path: string, ...args: string[]) {
    return parsePnm(execFileSync('djpeg', [...args, '-pnm', path], { maxBuffer: 1 << 26 }));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inqueue-djpeg-'));
    const add = (name: string, bytes: Uint8Array) => {
      const path = join(dir, `${jpegs.length}.jpg`);
      writeFileSync(path, bytes);
      jpegs.push({ name, path, bytes });
    };
    add(SHIPPED_JPEG, readFileSync(join(PHOTO_DIR, SHIPPED_JPEG)));
    for (const photo of PNG_PHOTOS) {
      const png = readFileSync(join(PHOTO_DIR, photo));
      for (const [variant, encode] of VARIANTS)
        add(`${photo} ${variant}`, await encode(sharp(png)).toBuffer());
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('matches djpeg -dct int within 1 per channel (channels 0: RGB, or gray for gray JPEGs)', async () => {
    const rows: string[] = [];
    for (const { name, path, bytes } of jpegs) {
      const reference = djpeg(path, '-dct', 'int');
      const image = await decodeJpeg(bytes, { key: name });
      expect(image.shape).toEqual([reference.height, reference.width, reference.channels]);
      const max = maxAbsDiff(image.data, reference.data);
      rows.push(`${name}: max ${max}`);
      expect(max, name).toBeLessThanOrEqual(1);
    }
    console.log(`djpeg -dct int vs decodeJpeg:\n  ${rows.join('\n  ')}`);
  });

  it('matches djpeg for gray JPEGs decoded to 3 channels (replicated)', async () => {
    for (const { name, path, bytes } of jpegs.filter((j) => j.name.endsWith('gray'))) {
      const gray = djpeg(path);
      const rgb = await decodeJpeg(bytes, { channels: 3 });
      const replicated = new Uint8Array(gray.data.length * 3).map((_, i) => gray.data[Math.floor(i / 3)]);
      expect(maxAbsDiff(rgb.data, replicated), name).toBeLessThanOrEqual(1);
    }
  });

  it('colour JPEGs to 1 channel: djpeg -grayscale (the Y plane) within 1 except where RGB clamps', async () => {
    const rows: string[] = [];
    for (const { name, path, bytes } of jpegs.filter((j) => !j.name.endsWith('gray'))) {
      const y = djpeg(path, '-grayscale');
      const luma = await decodeJpeg(bytes, { channels: 1 });
      const over = fractionOver(luma.data, y.data, 1);
      rows.push(`${name}: max ${maxAbsDiff(luma.data, y.data)}, ${(100 * over).toFixed(3)}% over 1`);
      expect(meanAbsDiff(luma.data, y.data), name).toBeLessThan(0.6);
      expect(over, name).toBeLessThan(0.02);
    }
    console.log(`djpeg -grayscale vs decodeJpeg channels 1:\n  ${rows.join('\n  ')}`);
  });

  it("differs from TF's default fast IDCT (djpeg -dct fast) by a few levels", async () => {
    const rows: [string, number, number][] = [];
    for (const { name, path, bytes } of jpegs) {
      const fast = djpeg(path, '-dct', 'fast');
      const image = await decodeJpeg(bytes);
      rows.push([name, maxAbsDiff(image.data, fast.data), meanAbsDiff(image.data, fast.data)]);
    }
    console.log(
      `djpeg -dct fast vs decodeJpeg:\n  ${rows.map(([n, max, mean]) => `${n}: max ${max}, mean ${mean.toFixed(3)}`).join('\n  ')}`,
    );
    for (const [name, max, mean] of rows) {
      expect(max, name).toBeLessThanOrEqual(24);
      expect(mean, name).toBeLessThan(2);
    }
    expect(Math.max(...rows.map(([, max]) => max))).toBeGreaterThan(1);
  });

  it('resize shrink keeps djpeg -scale 1/N sizes and stays close to its pixels', async () => {
    const rows: [string, number, number][] = [];
    for (const { name, path, bytes } of jpegs.filter(
      (j) => j.name.includes('4:2:0') || j.name === SHIPPED_JPEG,
    )) {
      for (const shrink of [2, 4, 8] as const) {
        const scaled = djpeg(path, '-scale', `1/${shrink}`);
        const image = await decodeJpeg(bytes, { resize: { shrink } });
        expect(image.shape).toEqual([scaled.height, scaled.width, 3]);
        rows.push([
          `${name} 1/${shrink}`,
          maxAbsDiff(image.data, scaled.data),
          meanAbsDiff(image.data, scaled.data),
        ]);
      }
    }
    console.log(
      `djpeg -scale vs decodeJpeg resize shrink:\n  ${rows.map(([n, max, mean]) => `${n}: max ${max}, mean ${mean.toFixed(2)}`).join('\n  ')}`,
    );
    // Lanczos3 after a smaller DCT shrink is sharper than libjpeg's pure DCT scaling: close, not equal.
    for (const [name, , mean] of rows) expect(mean, name).toBeLessThan(12);
  });

  it("CMYK (Adobe): TF's truncating conversion is djpeg's rounding one within 1", async () => {
    const png = readFileSync(join(PHOTO_DIR, 'chelsea.png'));
    const path = join(dir, 'cmyk.jpg');
    const cmyk = await sharp(png).toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer();
    writeFileSync(path, cmyk);
    const reference = djpeg(path);
    const image = await decodeJpeg(cmyk);
    expect(image.shape).toEqual([reference.height, reference.width, 3]);
    expect(maxAbsDiff(image.data, reference.data)).toBeLessThanOrEqual(1);
  });
});
