// Writes the synthetic CIFAR-10 fixture used by tests and the demo. Idempotent: a stamp file records what was
// generated, so reruns (e.g. from `pretest`) are a no-op while seed, size and generator version are unchanged.
//
//   npx tsx scripts/make-cifar-fixture.ts [--out DIR] [--records N] [--seed S]

import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BATCH_FILES,
  BATCHES_DIR,
  DEFAULT_RECORDS_PER_FILE,
  DEFAULT_SEED,
  GENERATOR_VERSION,
  META_FILE,
  META_TEXT,
  RECORD_BYTES,
  writeSyntheticCifar10,
} from './cifar-synth.js';

interface Stamp {
  seed: number;
  recordsPerFile: number;
  generatorVersion: number;
}

const STAMP_FILE = '.stamp.json';

function parseCount(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new Error(`--${name} must be a non-negative integer`);
  return n;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function upToDate(batchesDir: string, want: Stamp): Promise<boolean> {
  let have: Partial<Stamp>;
  try {
    have = JSON.parse(await readFile(join(batchesDir, STAMP_FILE), 'utf8')) as Partial<Stamp>;
  } catch {
    return false;
  }
  if (
    have.seed !== want.seed ||
    have.recordsPerFile !== want.recordsPerFile ||
    have.generatorVersion !== want.generatorVersion
  ) {
    return false;
  }
  const expected: [string, number][] = [
    ...BATCH_FILES.map((f): [string, number] => [f, want.recordsPerFile * RECORD_BYTES]),
    [META_FILE, Buffer.byteLength(META_TEXT)],
  ];
  const sizes = await Promise.all(expected.map(([f]) => sizeOf(join(batchesDir, f))));
  return sizes.every((s, i) => s === expected[i][1]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, records: { type: 'string' }, seed: { type: 'string' } },
    strict: true,
  });
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));
  const out = values.out === undefined ? join(repoRoot, 'fixtures') : resolve(values.out);
  const want: Stamp = {
    seed: parseCount('seed', values.seed, DEFAULT_SEED),
    recordsPerFile: parseCount('records', values.records, DEFAULT_RECORDS_PER_FILE),
    generatorVersion: GENERATOR_VERSION,
  };
  const batchesDir = join(out, BATCHES_DIR);

  if (await upToDate(batchesDir, want)) {
    console.log(`fixtures up to date: ${batchesDir}`);
    return;
  }
  const started = performance.now();
  // Drop the old stamp first so a run interrupted mid-way can never leave a stamp vouching for mixed files.
  await rm(join(batchesDir, STAMP_FILE), { force: true });
  const { files } = await writeSyntheticCifar10(out, {
    seed: want.seed,
    recordsPerFile: want.recordsPerFile,
  });
  // Stamp last: an interrupted run leaves no (or a stale) stamp and is regenerated next time.
  await writeFile(join(batchesDir, STAMP_FILE), `${JSON.stringify(want)}\n`);
  const ms = Math.round(performance.now() - started);
  console.log(
    `wrote ${files.length} files (${BATCH_FILES.length} x ${want.recordsPerFile} records, seed ${want.seed}) ` +
      `to ${batchesDir} in ${ms} ms`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
