/**
 * Issue 3's JPEG folder workload, side by side with its peers in one run:
 *   2,000 photos in 5 class folders -> decode -> random resized crop 224 -> random flip ->
 *   torchvision's Normalize(ImageNet mean, std) -> batches of 32 (float32 [32, 224, 224, 3]).
 *   - inqueue: fast-glob (sorted) -> stringInputProducer(shuffle, 1 epoch) -> wholeFileReader ->
 *     mapParallel(per-image work) -> batch(32), numThreads 1 (inline) and 2 (two worker threads), in
 *     two variants: 'ops' (decodeJpeg -> randomResizedCrop -> randomFlipLeftRight -> normalize) and
 *     'sharp' (box sampled from the JPEG header, then decode + extract + resize in one libvips call, the
 *     flip in the normalize loop);
 *   - peers from ../shared/bench/peers (each skipped, saying why, when it cannot run here):
 *     torchvision ImageFolder + PIL + RandomResizedCrop, DataLoader workers 0, 1, 2 (2 epochs, median);
 *     libjpeg-turbo in-process full-size decode of the preloaded files, 1 and 2 threads (the limit).
 * Data: /tmp/benchdata/photos from ../shared/bench/peers/gen_photos.sh (not generated here: it
 * downloads Debian packages).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import { arg, BENCH_ROOT, type Measured, median, PEERS, runJson, runNode, table } from './common.js';

const PYTHON = '/usr/bin/python3';
const PHOTOS = join(BENCH_ROOT, 'photos');
const THREADS = [1, 2] as const;
const VARIANTS = {
  ops: 'inqueue ops (decodeJpeg, randomResizedCrop, flip)',
  sharp: 'inqueue sharp fast path (decode+extract+resize in one libvips call)',
} as const;
type Variant = keyof typeof VARIANTS;

interface PeerRate {
  label: string;
  rate: number;
  rss?: number;
}

function peer(label: string, cmd: string, args: string[]): PeerRate | null {
  const r = runJson(cmd, args);
  if (!r) return null;
  const rss = (r.peak_pss_tree_MiB ?? r.peak_rss_MiB) as number | undefined;
  return { label, rate: Number(r.median_images_per_s), rss: rss === undefined ? undefined : Math.round(rss) };
}

/** The libjpeg-turbo limit program and its file list (what ../shared/bench/peers/build.sh makes). */
async function ensureJpegLimit(): Promise<{ exe: string; list: string } | null> {
  const exe = join(BENCH_ROOT, 'jpeg_limit');
  const list = join(BENCH_ROOT, 'photos.list');
  if (!existsSync(list)) {
    const files = (await fg('*/*.jpg', { cwd: PHOTOS, absolute: true })).sort();
    writeFileSync(list, `${files.join('\n')}\n`);
  }
  if (!existsSync(exe)) {
    const r = spawnSync(
      'gcc',
      ['-O3', '-march=native', '-pthread', '-o', exe, `${PEERS}jpeg_limit.c`, '-lturbojpeg'],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) {
      process.stderr.write(
        '  (skipped the libjpeg-turbo limit: it does not build here; needs libturbojpeg0-dev)\n',
      );
      return null;
    }
  }
  return { exe, list };
}

export async function benchJpeg(): Promise<void> {
  if (!existsSync(PHOTOS) || readdirSync(PHOTOS).length === 0) {
    process.stderr.write(
      `jpeg: no photos in ${PHOTOS}; make them with \`bash ../shared/bench/peers/gen_photos.sh\` (skipped)\n`,
    );
    return;
  }
  const worker = fileURLToPath(new URL('./jpeg-folder-worker.ts', import.meta.url));
  const rounds = Number(arg('rounds', '3'));
  const variants = Object.keys(VARIANTS) as Variant[];
  const runs = new Map<string, Measured[]>();
  for (let i = 0; i < rounds; i++) {
    const line: string[] = [];
    for (const t of THREADS) {
      for (const v of variants) {
        const r = runNode(worker, [PHOTOS, String(t), v, '1']);
        const key = `${v}/${t}`;
        runs.set(key, [...(runs.get(key) ?? []), r]);
        line.push(`${v} ${t}t ${r.samplesPerSec.toFixed(0)}/s`);
      }
    }
    process.stderr.write(`jpeg round ${i + 1}: ${line.join(', ')}\n`);
  }
  const ours = (v: Variant, t: number) => median((runs.get(`${v}/${t}`) ?? []).map((r) => r.samplesPerSec));
  const rows: [string, number | null, number | undefined][] = [];
  for (const t of THREADS) {
    for (const v of variants) {
      const rss = median((runs.get(`${v}/${t}`) ?? []).map((r) => r.peakRssMB ?? 0));
      rows.push([`${VARIANTS[v]}, numThreads ${t}`, ours(v, t), rss]);
    }
  }
  const torch = new Map<number, number>();
  const limit = new Map<number, number>();
  if (!process.argv.includes('--no-peers')) {
    for (const w of [0, 1, 2]) {
      const p = peer(`torchvision ImageFolder + PIL, RandomResizedCrop, workers ${w}`, PYTHON, [
        `${PEERS}torch_jpeg.py`,
        '--workers',
        String(w),
        '--aug',
        'rrc',
        '--epochs',
        '2',
      ]);
      if (!p) continue;
      rows.push([p.label, p.rate, p.rss]);
      torch.set(w, p.rate);
    }
    const c = await ensureJpegLimit();
    for (const t of c ? THREADS : []) {
      const p = peer(
        `libjpeg-turbo in-process full-size decode only (limit), ${t} thread${t > 1 ? 's' : ''}`,
        c!.exe,
        [c!.list, '--threads', String(t), '--reps', '3'],
      );
      if (!p) continue;
      rows.push([p.label, p.rate, p.rss]);
      limit.set(t, p.rate);
    }
  }
  console.log(
    '\n## JPEG folder: 2,000 photos -> decode -> random resized crop 224 -> flip -> normalize -> batch(32)',
  );
  console.log(
    `inqueue: medians of ${rounds} fresh-process runs of 1 epoch each (startup included); torchvision: median of 2 epochs; libjpeg-turbo: median of 3 passes\n`,
  );
  console.log(table(rows).replace('samples/s', 'images/s'));
  console.log('');
  for (const t of THREADS) {
    const best = Math.max(...variants.map((v) => ours(v, t)));
    const which = variants.find((v) => ours(v, t) === best);
    const w = torch.get(t);
    const l = limit.get(t);
    if (w !== undefined)
      console.log(
        `inqueue ${t} thread${t > 1 ? 's' : ''} (${which}) / torchvision workers ${t}: ${(best / w).toFixed(2)}x  (goal >= 2x)`,
      );
    if (l !== undefined)
      console.log(
        `inqueue ${t} thread${t > 1 ? 's' : ''} (${which}) / libjpeg-turbo decode ${t} thread${t > 1 ? 's' : ''}: ${(best / l).toFixed(2)}  (goal >= 0.5)`,
      );
  }
  const single = torch.get(0);
  if (single !== undefined) {
    const best = Math.max(...variants.map((v) => ours(v, 1)));
    console.log(
      `inqueue 1 thread / torchvision workers 0 (both all in one process): ${(best / single).toFixed(2)}x`,
    );
  }
  const firstBatch = (t: number) =>
    median(variants.flatMap((v) => (runs.get(`${v}/${t}`) ?? []).map((r) => Number(r.firstBatchSeconds))));
  console.log(
    `inqueue time to the first batch (included above): 1 thread ${firstBatch(1).toFixed(2)} s, 2 threads ${firstBatch(2).toFixed(2)} s (worker start + tsx compile)`,
  );
  console.log(
    `inqueue scaling 1 -> 2 threads: ops ${(ours('ops', 2) / ours('ops', 1)).toFixed(2)}x, sharp ${(ours('sharp', 2) / ours('sharp', 1)).toFixed(2)}x`,
  );
}
