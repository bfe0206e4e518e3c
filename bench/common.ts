/** Shared bench plumbing: the data, fresh-process runs, medians and peers. */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCifar10 } from '../scripts/cifar-synth.js';

/** Where ../shared/bench/peers expects the data, so peers and inqueue read the same bytes. */
export const BENCH_ROOT = process.env.INQUEUE_BENCH_DATA ?? '/tmp/benchdata';
export const CIFAR_DIR = join(BENCH_ROOT, 'cifar-10-batches-bin');
export const PEERS = fileURLToPath(new URL('../../shared/bench/peers/', import.meta.url));
const RECORDS_PER_FILE = 10_000;

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** Full-size CIFAR-10 binaries: the peers' generator output if present, else ours (same layout). */
export async function ensureCifar(): Promise<string> {
  const ok = [1, 2, 3, 4, 5].every((i) => {
    const f = join(CIFAR_DIR, `data_batch_${i}.bin`);
    return existsSync(f) && statSync(f).size === RECORDS_PER_FILE * 3073;
  });
  if (!ok) {
    process.stderr.write(`writing full-size CIFAR-10 binaries to ${CIFAR_DIR} ...\n`);
    await writeSyntheticCifar10(BENCH_ROOT, { recordsPerFile: RECORDS_PER_FILE, seed: 12345 });
  }
  return CIFAR_DIR;
}

export interface Measured {
  samplesPerSec: number;
  peakRssMB?: number;
  [k: string]: unknown;
}

/** Runs a command and parses the last JSON line it prints; null (with the reason) if it cannot run. */
export function runJson(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Record<string, unknown> | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  if (r.status !== 0) {
    process.stderr.write(
      `  (skipped ${[cmd, ...args].join(' ')}: ${r.error?.message ?? r.stderr.trim().split('\n').pop()})\n`,
    );
    return null;
  }
  const line = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  return line ? (JSON.parse(line) as Record<string, unknown>) : null;
}

/** One measured run of a bench worker module in a fresh Node process. */
export function runNode(worker: string, args: string[], env: NodeJS.ProcessEnv = {}): Measured {
  const r = runJson(process.execPath, ['--import', 'tsx', worker, ...args], env);
  if (!r) throw new Error(`bench worker ${worker} ${args.join(' ')} failed`);
  return r as Measured;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function table(rows: [string, number | null, number | null | undefined][]): string {
  const out = ['| pipeline | samples/s | peak RSS MB |', '|---|---:|---:|'];
  for (const [name, rate, rss] of rows)
    out.push(`| ${name} | ${rate === null ? 'n/a' : rate.toFixed(0)} | ${rss ?? ''} |`);
  return out.join('\n');
}
