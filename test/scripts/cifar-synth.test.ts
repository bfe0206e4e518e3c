import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_FILES,
  BATCHES_DIR,
  FIXTURE_CLASS_NAMES,
  META_FILE,
  PLANE_BYTES,
  RECORD_BYTES,
  synthesizeCifarBatch,
  writeSyntheticCifar10,
} from '../../scripts/cifar-synth.js';

const execFileAsync = promisify(execFile);

const RECORDS = 300;
const SEED = 12345;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'inqueue-cifar-synth-'));
  tempDirs.push(dir);
  return dir;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function readBatches(dir: string): Promise<Buffer[]> {
  return Promise.all(BATCH_FILES.map((f) => readFile(join(dir, BATCHES_DIR, f))));
}

let base: string;
let batches: Buffer[];

beforeAll(async () => {
  base = await tempDir();
  await writeSyntheticCifar10(base, { recordsPerFile: RECORDS, seed: SEED });
  batches = await readBatches(base);
});

afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('layout', () => {
  it('writes six batch files of records * 3073 bytes and the class-name meta file', async () => {
    for (const f of BATCH_FILES) {
      expect((await stat(join(base, BATCHES_DIR, f))).size, f).toBe(RECORDS * 3073);
    }
    const meta = await readFile(join(base, BATCHES_DIR, META_FILE), 'utf8');
    expect(meta.endsWith('\n')).toBe(true);
    expect(meta.slice(0, -1).split('\n')).toEqual([...FIXTURE_CLASS_NAMES]);
    expect(FIXTURE_CLASS_NAMES).toHaveLength(10);
  });

  it('labels every record 0..9 and has every class in every file', () => {
    for (const [i, buf] of batches.entries()) {
      const counts = new Array<number>(10).fill(0);
      for (let r = 0; r < RECORDS; r++) {
        const label = buf[r * RECORD_BYTES];
        expect(label, `${BATCH_FILES[i]} record ${r}`).toBeLessThan(10);
        counts[label]++;
      }
      expect(Math.min(...counts), BATCH_FILES[i]).toBeGreaterThan(0);
    }
  });

  it('stores planar, row-major channels: stripes are constant along their direction in every plane', () => {
    // Mean (max - min) along each row / column of each plane. Horizontal stripes must leave only pixel noise
    // (sd 8, so ~33 over 32 samples) along rows and vertical stripes along columns; an interleaved (RGBRGB)
    // layout mixes channels into each row, a transposed one swaps the two.
    const spread = (buf: Buffer, rec: number, alongRows: boolean): number => {
      let total = 0;
      for (let c = 0; c < 3; c++) {
        const plane = rec * RECORD_BYTES + 1 + c * PLANE_BYTES;
        for (let a = 0; a < 32; a++) {
          let lo = 255;
          let hi = 0;
          for (let b = 0; b < 32; b++) {
            const v = buf[plane + (alongRows ? a * 32 + b : b * 32 + a)];
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
          total += hi - lo;
        }
      }
      return total / 96;
    };
    const buf = batches[0];
    let checked = 0;
    for (let r = 0; r < RECORDS; r++) {
      const label = buf[r * RECORD_BYTES];
      if (label !== 3 && label !== 4) continue;
      const rowSpread = spread(buf, r, true);
      const colSpread = spread(buf, r, false);
      const [along, across] = label === 3 ? [rowSpread, colSpread] : [colSpread, rowSpread];
      expect(along, `${FIXTURE_CLASS_NAMES[label]} record ${r}`).toBeLessThan(45);
      expect(along, `${FIXTURE_CLASS_NAMES[label]} record ${r}`).toBeLessThan(across);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('determinism', () => {
  it('same seed gives identical bytes, a different seed different bytes', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    await writeSyntheticCifar10(a, { recordsPerFile: 50, seed: 7 });
    await writeSyntheticCifar10(b, { recordsPerFile: 50, seed: 7 });
    await writeSyntheticCifar10(c, { recordsPerFile: 50, seed: 8 });
    const [ha, hb, hc] = await Promise.all([a, b, c].map(async (d) => (await readBatches(d)).map(sha256)));
    expect(hb).toEqual(ha);
    for (let i = 0; i < BATCH_FILES.length; i++) expect(hc[i], BATCH_FILES[i]).not.toBe(ha[i]);
    // Files use independent sub-streams: no two batches of one dataset are equal.
    expect(new Set(ha).size).toBe(BATCH_FILES.length);
  });

  it('each file can be generated on its own and matches the written one', () => {
    BATCH_FILES.forEach((f, i) => {
      expect(sha256(synthesizeCifarBatch(SEED, i, RECORDS)), f).toBe(sha256(batches[i]));
    });
  });

  it('matches the pinned digest (bump GENERATOR_VERSION and this digest when the generator changes)', () => {
    expect(sha256(synthesizeCifarBatch(20261126, 0, 64))).toBe(PINNED_DIGEST);
  });
});

// sha256 of synthesizeCifarBatch(20261126, 0, 64) at GENERATOR_VERSION 1.
const PINNED_DIGEST = 'b03f8841df2868c6ff25ad6f030a15d9c2186c80a9baf721f77c914aca018fd2';

describe('learnability', () => {
  // Translation-tolerant features of the per-image standardised luma: a magnitude-weighted histogram of
  // (unsigned) gradient orientations plus the mean gradient magnitude. Shapes differ in which edge directions
  // they have, patterns additionally in edge density.
  const BINS = 8;
  function features(buf: Buffer, rec: number): number[] {
    const o = rec * RECORD_BYTES + 1;
    const g = new Float64Array(PLANE_BYTES);
    let mean = 0;
    for (let p = 0; p < PLANE_BYTES; p++) {
      g[p] = 0.299 * buf[o + p] + 0.587 * buf[o + PLANE_BYTES + p] + 0.114 * buf[o + 2 * PLANE_BYTES + p];
      mean += g[p] / PLANE_BYTES;
    }
    let variance = 0;
    for (let p = 0; p < PLANE_BYTES; p++) variance += (g[p] - mean) ** 2 / PLANE_BYTES;
    const sd = Math.sqrt(variance) || 1;
    const hist = new Array<number>(BINS + 1).fill(0);
    let total = 0;
    for (let y = 1; y < 31; y++) {
      for (let x = 1; x < 31; x++) {
        const gx = (g[y * 32 + x + 1] - g[y * 32 + x - 1]) / sd;
        const gy = (g[(y + 1) * 32 + x] - g[(y - 1) * 32 + x]) / sd;
        const mag = Math.hypot(gx, gy);
        let angle = Math.atan2(gy, gx);
        if (angle < 0) angle += Math.PI;
        hist[Math.min(BINS - 1, Math.floor((angle / Math.PI) * BINS))] += mag;
        total += mag;
      }
    }
    for (let b = 0; b < BINS; b++) hist[b] /= total || 1;
    hist[BINS] = total / (30 * 30);
    return hist;
  }

  interface Dataset {
    x: number[][];
    y: number[];
  }

  function dataset(bufs: Buffer[]): Dataset {
    const x: number[][] = [];
    const y: number[] = [];
    for (const buf of bufs) {
      for (let r = 0; r < buf.length / RECORD_BYTES; r++) {
        x.push(features(buf, r));
        y.push(buf[r * RECORD_BYTES]);
      }
    }
    return { x, y };
  }

  /** Nearest-centroid accuracy on z-scored features (z-scoring statistics from the training set). */
  function nearestCentroidAccuracy(train: Dataset, test: Dataset): number {
    const n = train.x.length;
    const d = train.x[0].length;
    const mu = new Array<number>(d).fill(0);
    const sd = new Array<number>(d).fill(0);
    for (const row of train.x) for (let j = 0; j < d; j++) mu[j] += row[j] / n;
    for (const row of train.x) for (let j = 0; j < d; j++) sd[j] += (row[j] - mu[j]) ** 2 / n;
    const z = (row: number[]): number[] => row.map((v, j) => (v - mu[j]) / (Math.sqrt(sd[j]) || 1));

    const centroids = Array.from({ length: 10 }, () => new Array<number>(d).fill(0));
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) {
      const zr = z(train.x[i]);
      counts[train.y[i]]++;
      for (let j = 0; j < d; j++) centroids[train.y[i]][j] += zr[j];
    }
    for (let k = 0; k < 10; k++) for (let j = 0; j < d; j++) centroids[k][j] /= counts[k] || 1;

    let correct = 0;
    for (let i = 0; i < test.x.length; i++) {
      const zr = z(test.x[i]);
      let best = 0;
      let bestDist = Number.POSITIVE_INFINITY;
      for (let k = 0; k < 10; k++) {
        let dist = 0;
        for (let j = 0; j < d; j++) dist += (centroids[k][j] - zr[j]) ** 2;
        if (dist < bestDist) [best, bestDist] = [k, dist];
      }
      if (best === test.y[i]) correct++;
    }
    return correct / test.x.length;
  }

  it('a nearest-centroid classifier on gradient-orientation features beats chance by far', () => {
    const train = dataset(batches.slice(0, 5));
    const test = dataset(batches.slice(5));
    expect(train.x.length).toBe(5 * RECORDS);
    expect(test.x.length).toBe(RECORDS);
    const accuracy = nearestCentroidAccuracy(train, test);
    // Measured ~0.8; chance is 0.1.
    expect(accuracy).toBeGreaterThanOrEqual(0.5);

    // Control: the same classifier trained on permuted labels must sit near chance, so the score above comes
    // from the images and not from some leak through the evaluation code.
    const permuted = train.y.map((_, i) => train.y[(i * 7919 + 13) % train.y.length]);
    const control = nearestCentroidAccuracy({ x: train.x, y: permuted }, test);
    expect(control).toBeLessThan(0.25);
  });
});

describe('make-cifar-fixture CLI', () => {
  // Run from the repo root so `--import tsx` resolves whatever directory vitest was started from.
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const script = join(repoRoot, 'scripts', 'make-cifar-fixture.ts');
  const args = (out: string) => ['--import', 'tsx', script, '--out', out, '--records', '20'];
  const run = async (out: string): Promise<string> =>
    (await execFileAsync(process.execPath, args(out), { cwd: repoRoot })).stdout;

  it('generates once, then is a no-op until the output is damaged', async () => {
    const out = await tempDir();
    expect(await run(out)).toMatch(/^wrote 7 files/);
    const first = join(out, BATCHES_DIR, BATCH_FILES[0]);
    const mtime = (await stat(first)).mtimeMs;
    expect(await run(out)).toMatch(/^fixtures up to date: /);
    expect((await stat(first)).mtimeMs).toBe(mtime);
    await truncate(first, 100);
    expect(await run(out)).toMatch(/^wrote 7 files/);
    expect((await stat(first)).size).toBe(20 * RECORD_BYTES);
  });
});
